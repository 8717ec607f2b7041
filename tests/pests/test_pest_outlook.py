"""Outlook, spray signals, risk calendars: synthetic weather, recorded forecasts, the sample district."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pest_weather import daily_weather

from orchard.errors import InputError, ParameterError
from orchard.forecast import forecast_for_plots
from pests.outlook import level_of, outlook, risk_calendar, score
from pests.spray import spray_signals

OPENMETEO = Path(__file__).resolve().parents[1] / "data" / "openmeteo"


@pytest.fixture(scope="module")
def weather():
    return daily_weather("2008-01-01", "2016-12-31", n_plots=3, seed=7)


@pytest.fixture(scope="module")
def result(weather):
    return outlook(None, weather, "2016-06-01")


def test_shape_ranges_and_attrs(result):
    assert dict(result.sizes) == {"plot": 3, "pest": 4, "horizon": 3, "lead_day": 15}
    assert list(result["horizon"].values) == ["15d", "1m", "3m"]
    p = result["probability"].values
    assert ((p >= 0) & (p <= 1)).all()
    assert set(np.unique(result["level"].values)) <= {1, 2, 3, 4, 5}
    assert ((result["risk_score"] >= 0) & (result["risk_score"] <= 100)).all()
    assert result.attrs["model"] == "pests.outlook" and "black_spot@" in result.attrs["parameter_set"]
    sources = json.loads(result.attrs["member_sources_1m_3m"])
    assert len(sources) == 8 and sources[0].startswith("past year 2015 (synthetic test weather")
    assert "default calendar" in result.attrs["host_state_source"]
    assert str(result["reason"].sel(plot="P0", pest="black_spot", horizon="1m").values).startswith(
        "citrus black spot: P(≥1 infection event in 30 d) = "
    )
    args = json.loads(str(result["reason_args"].sel(plot="P0", pest="mites", horizon="3m").values))
    assert set(args) == {"p", "generations", "peak_per_leaf", "threshold", "days"}


def test_probability_grows_with_horizon_and_three_month_spread_is_wider(result):
    p = result["probability"].values
    assert (np.diff(p, axis=-1) >= -1e-12).all()  # nested windows: never less likely over a longer horizon
    spread = result["events_p90"] - result["events_p10"]
    for pest in ("black_spot", "canker"):
        assert (spread.sel(pest=pest, horizon="3m") > spread.sel(pest=pest, horizon="15d")).all()
    # generations follow degree-days, which vary little between years: wider or equal
    assert (spread.sel(horizon="3m") >= spread.sel(horizon="15d")).all()


def test_summer_outlook_riskier_than_winter(weather):
    winter = outlook(None, weather, "2016-01-05", pests=["black_spot", "canker"])
    summer = outlook(None, weather, "2016-05-20", pests=["black_spot", "canker"])
    assert float(winter["probability"].sel(horizon="15d").max()) == 0.0
    assert float(summer["risk_score"].sel(horizon="1m").min()) > float(
        winter["risk_score"].sel(horizon="1m").max()
    )


def test_score_and_level_bounds():
    assert score(0.0, 0.0) == 0.0 and score(1.0, np.inf) == pytest.approx(100.0)
    assert score(1.0, 1.0) == pytest.approx(75.0)
    np.testing.assert_array_equal(
        level_of([0, 19.9, 20, 40, 60, 79.9, 80, 100], [20, 40, 60, 80]), [1, 1, 2, 3, 4, 4, 5, 5]
    )


def test_forecast_members_drive_the_15_day_horizon(weather):
    payload = json.loads((OPENMETEO / "ensemble_chongqing.json").read_text(encoding="utf-8"))
    plots = xr.Dataset(
        {
            "lat": ("plot", [29.6] * 3),
            "lon": ("plot", [106.5] * 3),
            "elevation_m": ("plot", [300.0, 400.0, 500.0]),
        },
        coords={"plot": weather["plot"].values},
    )
    fc = forecast_for_plots(
        plots, kind="ensemble", resolution="hourly", responses=payload, issue_date="2016-05-11"
    )
    # the recording is for May 2025: re-date it to the day after the synthetic issue date
    fc = fc.assign_coords(time=fc["time"].values - (pd.Timestamp("2025-05-12") - pd.Timestamp("2016-05-12")))
    res = outlook(plots, weather, "2016-05-11", forecast=fc)
    assert int(res["n_members"].sel(horizon="15d")) == 3
    assert int(res["n_members"].sel(horizon="3m")) == 8
    labels = json.loads(res.attrs["member_sources_15d"])
    assert "ensemble: Open-Meteo" in labels[0] and "then past year" in labels[0]
    assert res.attrs["forecast_source"].startswith("ensemble: Open-Meteo")


def test_spray_signals(result):
    frame = spray_signals(result)
    assert len(frame) == 12 and set(frame["action"]) <= {"none", "protective", "curative"}
    for _, row in frame.iterrows():
        if row["action"] == "none":
            assert row["latest_date"] is None
        else:
            assert row["latest_date"] >= pd.Timestamp("2016-06-01").date()
        assert row["unnecessary_if"].startswith("pests.unnecessary.")
        json.loads(row["unnecessary_args"])
    canker = frame[frame["pest"] == "canker"]
    assert (canker["action"] != "curative").all()  # copper is protective only


def test_bad_input_messages(weather):
    with pytest.raises(InputError, match="unknown pest 'scab'; known pests are"):
        outlook(None, weather, "2016-06-01", pests=["scab"])
    with pytest.raises(InputError, match="record ends 2016-12-31, 80 days before the issue date 2017-03-21"):
        outlook(None, weather, "2017-03-21")
    with pytest.raises(InputError, match="'2016-13-01' is not a date"):
        outlook(None, weather, "2016-13-01")
    with pytest.raises(InputError, match="other years covering the 91 days"):
        outlook(None, weather.sel(time=slice("2015-01-01", None)), "2016-06-01")
    with pytest.raises(ParameterError, match="level.bounds"):
        outlook(None, weather, "2016-06-01", params={"outlook": {"level.bounds": [50.0, 40.0, 60.0, 80.0]}})
    with pytest.raises(InputError, match="no humidity"):
        outlook(None, weather.drop_vars("rh_mean_pct"), "2016-06-01")


def test_chunks_and_threads_give_the_same_result(weather, result):
    chunked = outlook(None, weather, "2016-06-01", chunk_size=1, workers=2)
    xr.testing.assert_identical(chunked["risk_score"], result["risk_score"])


# ---- the sample district's real weather ---------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_weather(sample_home):
    import os

    from orchard import store
    from orchard.cli_common import engine_for
    from orchard.plot_weather import plot_weather
    from orchard.plots import PlotSet

    url = f"sqlite:///{Path(sample_home) / 'orchard.db'}"
    old = os.environ.get("ORCHARD_HOME")
    os.environ["ORCHARD_HOME"] = str(sample_home)
    try:
        with store.session_scope(engine_for(url)) as session:
            plots = PlotSet.from_records(store.all_plots(session)[:3])
            daily = plot_weather(session, plots, resolution="daily", start="2012-01-01", end="2017-12-31")
            hourly = plot_weather(
                session,
                plots,
                resolution="hourly",
                start="2014-01-01",
                end="2014-12-31 23:00",
                station_id="chengdu",
            )
    finally:
        if old is None:
            os.environ.pop("ORCHARD_HOME", None)
        else:
            os.environ["ORCHARD_HOME"] = old
    return plots.to_dataset(), daily, hourly


def _monthly(calendar, pest):
    events = calendar["events"].sel(pest=pest).mean("plot").to_pandas()
    return events.groupby(events.index.month).sum()


@pytest.mark.parametrize("which", ["daily", "hourly"])
def test_sample_risk_calendar_peaks_in_warm_wet_season(sample_weather, which):
    plots, daily, hourly = sample_weather
    weather = daily if which == "daily" else hourly
    cal = risk_calendar(plots, weather, freq="MS")
    always = {
        "flush_fraction": xr.ones_like(daily["tmin_c"])
        if which == "daily"
        else xr.DataArray(
            np.ones((365, 3)),
            dims=("time", "plot"),
            coords={"time": pd.date_range("2014-01-01", periods=365), "plot": plots["plot"]},
        ),
    }
    always["fruit_susceptible"] = always["flush_fraction"]
    cal_host = risk_calendar(plots, weather, host=always, freq="MS")
    for pest in ("black_spot", "canker"):
        months = _monthly(cal, pest)
        assert months.loc[[12, 1, 2]].sum() == 0  # none in winter
        assert months.loc[[5, 6, 7, 8, 9]].sum() > 0
        assert months.idxmax() in (5, 6, 7, 8, 9)
        # with the host susceptible all year the weather alone still puts the peak in the warm wet season
        months_host = _monthly(cal_host, pest)
        assert months_host.loc[[12, 1, 2]].sum() <= 0.15 * months_host.loc[[5, 6, 7, 8, 9]].sum()
