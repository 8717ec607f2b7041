"""Commands of the ``pests`` package, added to the ``orchard`` command by ``register``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``orchard`` command (none yet)."""
