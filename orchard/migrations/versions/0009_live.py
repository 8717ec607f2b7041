"""Run live (issue #20): stored forecasts (forecast_issues, forecast_values), the daily cycle's record
(cycle_runs), the sensor files it ingested (ingested_files), growers' notification channels and the outbox.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('cycle_runs',
    sa.Column('cycle_date', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_utc', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('log', sa.JSON(), nullable=True),
    sa.CheckConstraint("state IN ('running', 'done', 'failed')", name=op.f('ck_cycle_runs_state')),
    sa.PrimaryKeyConstraint('cycle_date', name=op.f('pk_cycle_runs'))
    )
    op.create_table('ingested_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('readings', sa.Integer(), nullable=False),
    sa.Column('ingested_utc', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_ingested_files'))
    )
    op.create_table('forecast_issues',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('fetched_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('n_members', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.CheckConstraint("kind IN ('forecast', 'ensemble', 'seasonal')", name=op.f('ck_forecast_issues_kind')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.station_id'],
        name=op.f('fk_forecast_issues_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecast_issues')),
    sa.UniqueConstraint('station_id', 'kind', 'issued_on',
        name=op.f('uq_forecast_issues_station_id_kind_issued_on'))
    )
    op.create_index(op.f('ix_forecast_issues_issued_on'), 'forecast_issues', ['issued_on'], unique=False)
    op.create_table('notification_channels',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('quiet_start_h', sa.Integer(), nullable=True),
    sa.Column('quiet_end_h', sa.Integer(), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f('ck_notification_channels_channel')),
    sa.CheckConstraint("language IN ('zh', 'en')", name=op.f('ck_notification_channels_language')),
    sa.CheckConstraint('(quiet_start_h IS NULL OR (quiet_start_h >= 0 AND quiet_start_h < 24)) AND '
                       '(quiet_end_h IS NULL OR (quiet_end_h >= 0 AND quiet_end_h < 24))',
                       name=op.f('ck_notification_channels_quiet_hours')),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'],
        name=op.f('fk_notification_channels_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'channel', name=op.f('pk_notification_channels'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('cycle_date', sa.Date(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_utc', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f('ck_outbox_channel')),
    sa.CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed')", name=op.f('ck_outbox_state')),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_outbox_user_id_users'),
        ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('cycle_date', 'user_id', 'channel', name=op.f('uq_outbox_cycle_date_user_id_channel'))
    )
    op.create_index(op.f('ix_outbox_cycle_date'), 'outbox', ['cycle_date'], unique=False)
    op.create_table('forecast_values',
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('member', sa.Integer(), nullable=False),
    sa.Column('variable', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['forecast_issues.id'],
        name=op.f('fk_forecast_values_issue_id_forecast_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('issue_id', 'member', 'variable', 'day', name=op.f('pk_forecast_values'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('forecast_values')
    op.drop_index(op.f('ix_outbox_cycle_date'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('notification_channels')
    op.drop_index(op.f('ix_forecast_issues_issued_on'), table_name='forecast_issues')
    op.drop_table('forecast_issues')
    op.drop_table('ingested_files')
    op.drop_table('cycle_runs')
