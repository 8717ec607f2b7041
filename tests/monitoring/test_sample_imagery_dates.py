"""The synthetic sample stack lies in the sample weather's years, so weekly runs and replays see imagery."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from imagery_helpers import DEM, IMAGERY, STACK

from orchard.sample import sample_paths

SEASONS = (2015, 2016, 2017)
MAX_AGE_DAYS = 20  # a weekly run from March to November finds a scene at most this old


@pytest.fixture(scope="module")
def scene_days():
    days = []
    for path in sorted(STACK.glob("S2_*.tif")):
        meta = json.loads(path.with_suffix(".json").read_text())
        day = pd.Timestamp(meta["acquired_utc"]).tz_convert("Asia/Shanghai").tz_localize(None).normalize()
        assert path.stem == f"S2_{day:%Y%m%d}", (path.name, meta["acquired_utc"])
        days.append(day)
    return pd.DatetimeIndex(days)


@pytest.fixture(scope="module")
def weather_days():
    frame = pd.read_csv(sample_paths()["meteo"], comment="#", usecols=["DATETIME"])
    return pd.to_datetime(frame["DATETIME"]).dt.normalize()


def test_scenes_fall_inside_the_sample_weather_record(scene_days, weather_days):
    assert len(scene_days) > 0
    first, last = weather_days.min(), weather_days.max()
    outside = scene_days[(scene_days < first) | (scene_days > last)]
    record = f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"
    assert outside.empty, f"{len(outside)} scenes outside the weather record ({record})"
    assert scene_days.isin(set(weather_days)).all()  # and on days the record holds


@pytest.mark.parametrize("season", SEASONS)
def test_every_day_of_a_growing_season_has_a_recent_scene(scene_days, season):
    for day in pd.date_range(f"{season}-03-01", f"{season}-11-30", freq="D"):
        before = scene_days[scene_days <= day]
        assert len(before), f"no scene on or before {day:%Y-%m-%d}"
        age = (day - before.max()).days
        assert age <= MAX_AGE_DAYS, f"on {day:%Y-%m-%d} the latest scene is {age} days old"


def test_planted_changes_happen_inside_the_stack(scene_days):
    truth = json.loads((IMAGERY / "truth.geojson").read_text())
    for feature in truth["features"]:
        onset = pd.Timestamp(feature["properties"]["onset"])
        assert scene_days.min() < onset < scene_days.max(), feature["properties"]
        assert onset.year in SEASONS


def test_a_weekly_run_in_july_2016_sees_the_planted_patches(sample_plots):
    # What run-week --date 2016-07-15 hands to monitoring: the scenes registered up to that day.
    from monitoring import run

    notes = json.loads((IMAGERY / "truth.json").read_text())
    scenes = [p for p in sorted(STACK.glob("S2_*.tif")) if p.stem <= "S2_20160715"]
    result = run.run(sample_plots, scenes, dem=DEM, as_of="2016-07-15")
    found = set(result.alerts.loc[result.alerts["signal"] == "within_plot", "plot_id"])
    assert found == set(notes["poor_patch_plots"])
    assert set(result.alerts["plot_id"]) == found  # the 2017 whole-plot decline has not begun
