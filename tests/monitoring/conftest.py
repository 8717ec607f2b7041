"""Fixtures of the imagery tests: the synthetic sample stack, one monitoring run on it, tiny scenes."""

from __future__ import annotations

import json

import pytest
from imagery_helpers import DEM, IMAGERY, PLOTS, STACK


@pytest.fixture(scope="session")
def stack_paths():
    return sorted(STACK.glob("S2_*.tif"))


@pytest.fixture(scope="session")
def sample_plots():
    from orchard.plots import read_plots

    return read_plots(PLOTS)


@pytest.fixture(scope="session")
def monitoring_result(sample_plots, stack_paths):
    from monitoring import run

    return run.run(sample_plots, stack_paths, dem=DEM)


@pytest.fixture(scope="session")
def truth():
    import geopandas as gpd

    return gpd.read_file(IMAGERY / "truth.geojson"), json.loads((IMAGERY / "truth.json").read_text())
