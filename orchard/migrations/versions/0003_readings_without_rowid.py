"""Reading tables without SQLite's hidden rowid (no-op on other databases).

``weather_readings`` and ``sensor_readings`` are keyed by their composite primary key and read by it; as
``WITHOUT ROWID`` tables SQLite stores each row once, in the key's B-tree, instead of in a rowid table plus a
key index: bulk upserts of a million readings run ~1.4x faster (benchmarks/soil_ingest.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("weather_readings", "sensor_readings")


def _rebuild(table: str, without_rowid: bool) -> None:
    """Re-create ``table`` from its own DDL with or without ``WITHOUT ROWID``, keeping rows and indexes."""
    bind = op.get_bind()
    ddl = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name=?",
                               (table,)).scalar()
    has = ddl.rstrip().upper().endswith("WITHOUT ROWID")
    if has == without_rowid:
        return
    indexes = [row[0] for row in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (table,))]
    body = ddl.rstrip()[: -len("WITHOUT ROWID")].rstrip() if has else ddl.rstrip()
    op.execute(f"ALTER TABLE {table} RENAME TO _{table}_old")
    op.execute(body + (" WITHOUT ROWID" if without_rowid else ""))
    op.execute(f"INSERT INTO {table} SELECT * FROM _{table}_old")
    op.execute(f"DROP TABLE _{table}_old")
    for sql in indexes:
        op.execute(sql)


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _rebuild(table, without_rowid=True)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _rebuild(table, without_rowid=False)
