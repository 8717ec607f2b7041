"""Advice review (issue #19): an agronomist's decisions on a run's advice for a plot or a district (approve,
with an optional note for the grower, or hold), kept whole as the record of who decided what and when; and
per district whether growers see only approved advice; the log of admins' changes to user accounts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('advice_reviews',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reviewer_id', sa.String(length=64), nullable=False),
    sa.Column('reviewed_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approved', 'held')", name=op.f('ck_advice_reviews_decision')),
    sa.CheckConstraint("scope IN ('plot', 'district')", name=op.f('ck_advice_reviews_scope')),
    sa.CheckConstraint("(scope = 'plot' AND plot_id IS NOT NULL) OR "
                       "(scope = 'district' AND district IS NOT NULL)",
                       name=op.f('ck_advice_reviews_target')),
    sa.ForeignKeyConstraint(['run_id'], ['advice_runs.run_id'],
        name=op.f('fk_advice_reviews_run_id_advice_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'],
        name=op.f('fk_advice_reviews_plot_id_plots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.user_id'],
        name=op.f('fk_advice_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_advice_reviews'))
    )
    op.create_index(op.f('ix_advice_reviews_run_id'), 'advice_reviews', ['run_id'], unique=False)
    op.create_table('district_review_settings',
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('review_required', sa.Boolean(), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_utc', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by'], ['users.user_id'],
        name=op.f('fk_district_review_settings_changed_by_users')),
    sa.PrimaryKeyConstraint('district', name=op.f('pk_district_review_settings'))
    )
    op.create_table('user_admin_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('admin_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('changed_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('add', 'role', 'reset_password', 'disable', 'enable')",
        name=op.f('ck_user_admin_log_action')),
    sa.ForeignKeyConstraint(['admin_id'], ['users.user_id'], name=op.f('fk_user_admin_log_admin_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_user_admin_log_user_id_users'),
        ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_admin_log'))
    )
    op.create_index(op.f('ix_user_admin_log_user_id'), 'user_admin_log', ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_user_admin_log_user_id'), table_name='user_admin_log')
    op.drop_table('user_admin_log')
    op.drop_table('district_review_settings')
    op.drop_index(op.f('ix_advice_reviews_run_id'), table_name='advice_reviews')
    op.drop_table('advice_reviews')
