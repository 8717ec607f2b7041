"""Alembic environment for the orchard database.

There is no alembic.ini: :func:`orchard.store.alembic_config` builds the Config in code with
``script_location`` pointing here and passes an open connection in ``config.attributes["connection"]``.
Without one (e.g. ``alembic`` run by hand with ``-x url=...`` or ``sqlalchemy.url`` set), an engine is made
from that URL or from :func:`orchard.config.database_url`.
"""

from __future__ import annotations

from alembic import context

from orchard.config import database_url
from orchard.store import Base, UTCDateTime, create_engine_for

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") \
        or database_url()


def _render_item(type_, obj, autogen_context):
    # Migrations must not import orchard.store: render its UTC type as the plain column type it wraps.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        # SQLite cannot ALTER most things: later migrations use batch mode (copy-and-move) there.
        render_as_batch=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine_for(_url())
    try:
        with engine.begin() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
