"""Image library CLI (filled in by the image-library work)."""


def register(app) -> None:
    """Add the image-library commands to the orchard CLI."""
