"""Scenes: registered satellite and drone imagery (monitoring, ``orchard import-imagery``).

Times (``*_utc``) are TIMESTAMP WITH TIME ZONE; on SQLite they hold naive UTC (see orchard.store).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('scenes',
    sa.Column('scene_id', sa.String(length=200), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('platform', sa.String(length=64), nullable=True),
    sa.Column('sensor', sa.String(length=64), nullable=True),
    sa.Column('acquired_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processing_baseline', sa.Float(), nullable=True),
    sa.Column('crs', sa.String(length=200), nullable=True),
    sa.Column('bounds_wkt', sa.Text(), nullable=True),
    sa.Column('cloud_fraction', sa.Float(), nullable=True),
    sa.Column('bands', sa.JSON(), nullable=True),
    sa.Column('registered_utc', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scene_id', name=op.f('pk_scenes'))
    )
    op.create_index(op.f('ix_scenes_acquired_utc'), 'scenes', ['acquired_utc'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_scenes_acquired_utc'), table_name='scenes')
    op.drop_table('scenes')
