"""Weekly regional risk maps: CLI (filled in by the risk-map work)."""


def register(app) -> None:
    """Add the risk-map commands to the orchard CLI."""
