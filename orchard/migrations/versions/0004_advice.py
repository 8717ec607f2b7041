"""Advice: purchases and applications of inputs, weekly pipeline runs and their recommendations.

Times (``*_utc``) are TIMESTAMP WITH TIME ZONE; on SQLite they hold naive UTC (see orchard.store).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('advice_runs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('parameter_sets', sa.JSON(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=True),
    sa.Column('n_plots', sa.Integer(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_advice_runs'))
    )
    op.create_index(op.f('ix_advice_runs_issued_on'), 'advice_runs', ['issued_on'], unique=False)
    op.create_table('purchases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('grower_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('price_cny', sa.Float(), nullable=True),
    sa.Column('supplier', sa.String(length=200), nullable=True),
    sa.Column('purchased_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grower_id'], ['users.user_id'], name=op.f('fk_purchases_grower_id_users')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.user_id'], name=op.f('fk_purchases_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases'))
    )
    op.create_index(op.f('ix_purchases_grower_id'), 'purchases', ['grower_id'], unique=False)
    op.create_table('applications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('area_ha', sa.Float(), nullable=True),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'], name=op.f('fk_applications_plot_id_plots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_applications_purchase_id_purchases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.user_id'], name=op.f('fk_applications_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications'))
    )
    op.create_index(op.f('ix_applications_applied_on'), 'applications', ['applied_on'], unique=False)
    op.create_index(op.f('ix_applications_plot_id'), 'applications', ['plot_id'], unique=False)
    op.create_table('recommendations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('action_key', sa.String(length=100), nullable=False),
    sa.Column('action_numbers', sa.JSON(), nullable=True),
    sa.Column('reason_key', sa.String(length=100), nullable=False),
    sa.Column('reason_numbers', sa.JSON(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('module', sa.String(length=32), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('products', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'], name=op.f('fk_recommendations_plot_id_plots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['advice_runs.run_id'], name=op.f('fk_recommendations_run_id_advice_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendations'))
    )
    op.create_index(op.f('ix_recommendations_plot_id'), 'recommendations', ['plot_id'], unique=False)
    op.create_index(op.f('ix_recommendations_run_id'), 'recommendations', ['run_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_recommendations_run_id'), table_name='recommendations')
    op.drop_index(op.f('ix_recommendations_plot_id'), table_name='recommendations')
    op.drop_table('recommendations')
    op.drop_index(op.f('ix_applications_plot_id'), table_name='applications')
    op.drop_index(op.f('ix_applications_applied_on'), table_name='applications')
    op.drop_table('applications')
    op.drop_index(op.f('ix_purchases_grower_id'), table_name='purchases')
    op.drop_table('purchases')
    op.drop_index(op.f('ix_advice_runs_issued_on'), table_name='advice_runs')
    op.drop_table('advice_runs')
