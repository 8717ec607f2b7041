"""Sign-in passwords (scrypt hashes), plot districts, and the pest and disease image library.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('image_samples',
    sa.Column('sample_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_path', sa.String(length=500), nullable=False),
    sa.Column('original_name', sa.String(length=300), nullable=True),
    sa.Column('image_format', sa.String(length=8), nullable=False),
    sa.Column('width_px', sa.Integer(), nullable=False),
    sa.Column('height_px', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=True),
    sa.Column('taken_utc', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collector', sa.String(length=100), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('label', sa.String(length=32), nullable=False),
    sa.Column('label_source', sa.String(length=16), nullable=False),
    sa.Column('predicted_label', sa.String(length=32), nullable=True),
    sa.Column('predicted_probability', sa.Float(), nullable=True),
    sa.Column('verified_by', sa.String(length=64), nullable=True),
    sa.Column('verified_utc', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('added_by', sa.String(length=64), nullable=True),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("label_source IN ('collector', 'model', 'agronomist')", name=op.f('ck_image_samples_label_source')),
    sa.ForeignKeyConstraint(['added_by'], ['users.user_id'], name=op.f('fk_image_samples_added_by_users')),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'], name=op.f('fk_image_samples_plot_id_plots'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['verified_by'], ['users.user_id'], name=op.f('fk_image_samples_verified_by_users')),
    sa.PrimaryKeyConstraint('sample_id', name=op.f('pk_image_samples')),
    sa.UniqueConstraint('sha256', name=op.f('uq_image_samples_sha256'))
    )
    with op.batch_alter_table('image_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_samples_label'), ['label'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_samples_plot_id'), ['plot_id'], unique=False)

    with op.batch_alter_table('plots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_plots_district'), ['district'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_hash')

    with op.batch_alter_table('plots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plots_district'))
        batch_op.drop_column('district')

    with op.batch_alter_table('image_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_samples_plot_id'))
        batch_op.drop_index(batch_op.f('ix_image_samples_label'))

    op.drop_table('image_samples')
