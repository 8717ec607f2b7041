"""Scouting observations: pest counts and disease incidence per plot and date, which `orchard skill` scores
the forecasts against (entered in the app by agronomists, or from a CSV).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('scouting_observations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('observed_on', sa.Date(), nullable=False),
    sa.Column('pest', sa.String(length=16), nullable=False),
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('observer', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("pest IN ('black_spot', 'canker', 'mites', 'leaf_miner')",
        name=op.f('ck_scouting_observations_pest')),
    sa.CheckConstraint("measure IN ('mites_per_leaf', 'incidence_pct')",
        name=op.f('ck_scouting_observations_measure')),
    sa.CheckConstraint("value >= 0 AND (measure != 'incidence_pct' OR value <= 100)",
        name=op.f('ck_scouting_observations_value')),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'],
        name=op.f('fk_scouting_observations_plot_id_plots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.user_id'],
        name=op.f('fk_scouting_observations_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scouting_observations'))
    )
    op.create_index(op.f('ix_scouting_observations_plot_id'), 'scouting_observations', ['plot_id'],
                    unique=False)
    op.create_index(op.f('ix_scouting_observations_observed_on'), 'scouting_observations', ['observed_on'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_scouting_observations_observed_on'), table_name='scouting_observations')
    op.drop_index(op.f('ix_scouting_observations_plot_id'), table_name='scouting_observations')
    op.drop_table('scouting_observations')
