"""Initial schema: users, plots, stations, weather_readings, sensors, sensor_readings, observations,
parameter_versions.

Times (``*_utc``) are TIMESTAMP WITH TIME ZONE; on SQLite they hold naive UTC (see orchard.store).

Revision ID: 0001
Revises:
Create Date: 2026-11-22

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('stations',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('elevation_m', sa.Float(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.CheckConstraint("kind IN ('weather', 'rain_gauge', 'forecast')", name=op.f('ck_stations_kind')),
    sa.PrimaryKeyConstraint('station_id', name=op.f('pk_stations'))
    )
    op.create_table('users',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('grower', 'agronomist', 'extension', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('parameter_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.String(length=64), nullable=False),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.user_id'],
        name=op.f('fk_parameter_versions_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parameter_versions')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_parameter_versions_name_version'))
    )
    op.create_table('plots',
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('geometry_geojson', sa.Text(), nullable=True),
    sa.Column('area_ha', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('elevation_m', sa.Float(), nullable=True),
    sa.Column('slope_deg', sa.Float(), nullable=True),
    sa.Column('aspect_deg', sa.Float(), nullable=True),
    sa.Column('sky_view_factor', sa.Float(), nullable=True),
    sa.Column('horizon_deg', sa.JSON(), nullable=True),
    sa.Column('cultivar', sa.String(length=100), nullable=True),
    sa.Column('rootstock', sa.String(length=100), nullable=True),
    sa.Column('planting_year', sa.Integer(), nullable=True),
    sa.Column('trees_per_ha', sa.Float(), nullable=True),
    sa.Column('canopy_cover', sa.Float(), nullable=True),
    sa.Column('soil_texture', sa.String(length=50), nullable=True),
    sa.Column('field_capacity', sa.Float(), nullable=True),
    sa.Column('wilting_point', sa.Float(), nullable=True),
    sa.Column('root_depth_m', sa.Float(), nullable=True),
    sa.Column('irrigation', sa.String(length=16), nullable=True),
    sa.Column('irrigation_capacity_mm_d', sa.Float(), nullable=True),
    sa.Column('station_id', sa.String(length=64), nullable=True),
    sa.Column('updated_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("irrigation IS NULL OR irrigation IN ('none', 'drip', 'sprinkler')",
        name=op.f('ck_plots_irrigation')),
    sa.CheckConstraint('canopy_cover IS NULL OR (canopy_cover >= 0 AND canopy_cover <= 1)',
        name=op.f('ck_plots_canopy_cover')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.user_id'], name=op.f('fk_plots_owner_id_users')),
    sa.PrimaryKeyConstraint('plot_id', name=op.f('pk_plots'))
    )
    op.create_index(op.f('ix_plots_owner_id'), 'plots', ['owner_id'], unique=False)

    op.create_table('weather_readings',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('resolution', sa.String(length=8), nullable=False),
    sa.Column('variable', sa.String(length=32), nullable=False),
    sa.Column('time_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('qc_flags', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.CheckConstraint("resolution IN ('daily', 'hourly')", name=op.f('ck_weather_readings_resolution')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.station_id'],
        name=op.f('fk_weather_readings_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', 'resolution', 'variable', 'time_utc',
        name=op.f('pk_weather_readings'))
    )
    op.create_table('observations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('observed_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('variable', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('observer_id', sa.String(length=64), nullable=False),
    sa.Column('created_utc', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('phenology', 'fruit_size', 'brix', 'acidity', 'pest_count', 'other')",
        name=op.f('ck_observations_kind')),
    sa.ForeignKeyConstraint(['observer_id'], ['users.user_id'],
        name=op.f('fk_observations_observer_id_users')),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'],
        name=op.f('fk_observations_plot_id_plots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observations'))
    )
    op.create_index(op.f('ix_observations_plot_id'), 'observations', ['plot_id'], unique=False)

    op.create_table('sensors',
    sa.Column('sensor_id', sa.String(length=64), nullable=False),
    sa.Column('plot_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('depth_m', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.plot_id'],
        name=op.f('fk_sensors_plot_id_plots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sensor_id', name=op.f('pk_sensors'))
    )
    op.create_index(op.f('ix_sensors_plot_id'), 'sensors', ['plot_id'], unique=False)

    op.create_table('sensor_readings',
    sa.Column('sensor_id', sa.String(length=64), nullable=False),
    sa.Column('variable', sa.String(length=32), nullable=False),
    sa.Column('time_utc', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('raw_value', sa.Float(), nullable=True),
    sa.Column('qc_flags', sa.String(length=200), nullable=False),
    sa.Column('ingest_batch', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.sensor_id'],
        name=op.f('fk_sensor_readings_sensor_id_sensors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sensor_id', 'variable', 'time_utc', name=op.f('pk_sensor_readings'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('sensor_readings')
    op.drop_index(op.f('ix_sensors_plot_id'), table_name='sensors')

    op.drop_table('sensors')
    op.drop_index(op.f('ix_observations_plot_id'), table_name='observations')

    op.drop_table('observations')
    op.drop_table('weather_readings')
    op.drop_index(op.f('ix_plots_owner_id'), table_name='plots')

    op.drop_table('plots')
    op.drop_table('parameter_versions')
    op.drop_table('users')
    op.drop_table('stations')
