"""Data integrity and accounts (issue #18): failed sign-ins stored in the database, and photos of the image
library no longer unique by content (each grower gets their own sample of a photo another already added).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sign_in_failures',
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('wait_until_utc', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('account', 'client', 'pair')", name=op.f('ck_sign_in_failures_kind')),
    sa.PrimaryKeyConstraint('key_sha256', name=op.f('pk_sign_in_failures'))
    )
    # SQLite cannot drop a constraint in place: batch mode copies the table (its rows, keys and checks).
    with op.batch_alter_table('image_samples') as batch:
        batch.drop_constraint(op.f('uq_image_samples_sha256'), type_='unique')
        batch.create_index(op.f('ix_image_samples_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    """Downgrade schema (fails if a photo is stored twice: remove the extra samples first)."""
    with op.batch_alter_table('image_samples') as batch:
        batch.drop_index(op.f('ix_image_samples_sha256'))
        batch.create_unique_constraint(op.f('uq_image_samples_sha256'), ['sha256'])
    op.drop_table('sign_in_failures')
