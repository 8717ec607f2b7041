"""Fixtures of the image-library tests: a fresh ORCHARD_HOME with users of every role and two plots."""

from __future__ import annotations

import pytest
from leaf_image_helpers import make_home


@pytest.fixture
def image_home(tmp_path, monkeypatch):
    """(home folder, engine) of an empty library; ORCHARD_HOME points at it for the test."""
    home = tmp_path / "home"
    monkeypatch.setenv("ORCHARD_HOME", str(home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return home, make_home(home)
