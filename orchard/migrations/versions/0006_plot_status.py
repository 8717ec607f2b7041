"""Stored weekly runs: the plot_status table (one row per plot and run of the weekly chain) and the
results folder and parameter bundle of each run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('advice_runs') as batch:
        batch.add_column(sa.Column('results_path', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('bundle', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('steps', sa.JSON(), nullable=True))
    op.create_table('plot_status',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('results_chunk', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=True),
    sa.Column('bloom_date', sa.Date(), nullable=True),
    sa.Column('fruit_diameter_mm', sa.Float(), nullable=True),
    sa.Column('brix', sa.Float(), nullable=True),
    sa.Column('colour_break_p50', sa.Date(), nullable=True),
    sa.Column('maturity_p10', sa.Date(), nullable=True),
    sa.Column('maturity_p50', sa.Date(), nullable=True),
    sa.Column('maturity_p90', sa.Date(), nullable=True),
    sa.Column('maturity_delay_days', sa.Float(), nullable=True),
    sa.Column('members_mature', sa.Integer(), nullable=True),
    sa.Column('n_members', sa.Integer(), nullable=True),
    sa.Column('pests', sa.JSON(), nullable=True),
    sa.Column('max_pest_level_15d', sa.Integer(), nullable=True),
    sa.Column('ks', sa.Float(), nullable=True),
    sa.Column('depletion_mm', sa.Float(), nullable=True),
    sa.Column('raw_mm', sa.Float(), nullable=True),
    sa.Column('taw_mm', sa.Float(), nullable=True),
    sa.Column('irrigate', sa.Boolean(), nullable=True),
    sa.Column('ndvi', sa.Float(), nullable=True),
    sa.Column('ndvi_date', sa.Date(), nullable=True),
    sa.Column('alerts', sa.JSON(), nullable=True),
    sa.Column('actions', sa.JSON(), nullable=True),
    sa.Column('top_severity', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'], name=op.f('fk_plot_status_plot_id_plots'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['advice_runs.run_id'], name=op.f('fk_plot_status_run_id_advice_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'plot_id', name=op.f('pk_plot_status'))
    )
    op.create_index(op.f('ix_plot_status_plot_id'), 'plot_status', ['plot_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_plot_status_plot_id'), table_name='plot_status')
    op.drop_table('plot_status')
    with op.batch_alter_table('advice_runs') as batch:
        batch.drop_column('steps')
        batch.drop_column('bundle')
        batch.drop_column('results_path')
