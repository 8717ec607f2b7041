"""Host windows per pest from the growth model's ages (decisions §4–5, check-value 13), the leaf miner's small
spring population, the canker exposure of a plot, and the outlook's expected severity per lead day."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pest_weather import constant_daily, daily_weather

from orchard.errors import InputError
from pests.canker import wind_rain_exposure
from pests.host import age_window, carry_age, fruit_window, pest_hosts
from pests.leaf_miner import moth_buildup
from pests.model import run
from pests.outlook import outlook
from pests.paramsets import load_all


def _da(ds, values):
    shape = (ds.sizes["time"], ds.sizes["plot"])
    return xr.DataArray(
        np.broadcast_to(
            np.asarray(values, float).reshape(-1, 1) if np.ndim(values) else values, shape
        ).copy(),
        dims=("time", "plot"),
        coords={"time": ds["time"], "plot": ds["plot"]},
    )


def test_black_spot_fruit_window_stops_at_150_days():
    age = np.array([np.nan, 0, 60, 90, 91, 150, 151, 250, 400])
    np.testing.assert_array_equal(fruit_window(age, 90, 150), [0, 1, 1, 1, 0.5, 0.5, 0, 0, 0])
    # the growth model's fruit age over the fruit's whole life (the chain): no black-spot host after day 150
    wet = constant_daily(10, 22.0, 29.0, 95.0, 20.0, start="2016-06-01")
    young = run(None, wet, host={"fruit_age_d": _da(wet, 40.0)}, pests=["black_spot"])
    old = run(None, wet, host={"fruit_age_d": _da(wet, 200.0)}, pests=["black_spot"])
    none = run(None, wet, host={"fruit_age_d": _da(wet, np.nan)}, pests=["black_spot"])
    assert int(young["event"].sum()) >= 5
    assert int(old["event"].sum()) == 0 and float(old["fruit_susceptible"].max()) == 0.0
    assert int(none["event"].sum()) == 0
    assert "fruit_age_d: growth model" in young.attrs["host_state_source"]


def test_canker_leaf_and_fruit_windows_check_value_13():
    days = np.arange(0, 100, dtype=float)
    leaf = age_window(days, 20, 55)
    assert leaf[:20].sum() == 0 and leaf[20:56].all() and leaf[56:].sum() == 0
    times = pd.date_range("2016-03-01", periods=100)
    params = load_all()
    flush_age = xr.DataArray(days[:, None], dims=("time", "plot"), coords={"time": times, "plot": ["A"]})
    fruit_age = flush_age.copy(data=np.full((100, 1), np.nan))
    hosts, _ = pest_hosts(times, ["A"], {"flush_age_d": flush_age, "fruit_age_d": fruit_age}, params)
    assert hosts["canker"][:20, 0].sum() == 0 and hosts["canker"][20:56, 0].min() == 1
    assert hosts["canker"][56:, 0].sum() == 0
    # fruit 35-80 d after petal fall
    hosts, _ = pest_hosts(times, ["A"], {"fruit_age_d": flush_age, "flush_age_d": fruit_age}, params)
    assert hosts["canker"][:35, 0].sum() == 0 and hosts["canker"][35:81, 0].min() == 1
    assert hosts["canker"][81:, 0].sum() == 0


def test_flush_age_is_carried_past_the_growth_models_young_shoots():
    """Growth gives the age while the shoots are young (35 d); canker leaves stay susceptible to day 55."""
    age = np.full((80, 1), np.nan)
    age[5:40, 0] = np.arange(35)
    carried = carry_age(age, 55)
    assert np.isnan(carried[:5, 0]).all()
    np.testing.assert_array_equal(carried[5:61, 0], np.arange(56))
    assert np.isnan(carried[61:, 0]).all()


def test_leaf_miner_leaves_the_spring_flush_alone():
    """Check-value 13: CLM risk on the March spring flush = 0; summer and autumn flushes carry it."""
    assert moth_buildup(0.3, 3.0, 0.5) < 0.01 and moth_buildup(6.0, 3.0, 0.5) > 0.99
    # a warm spring (25 degC mean from 16 March, when the calendar spring flush emerges): the year's first
    # generation completes on the young spring flush (~day 17), but the moths are still few; with the
    # build-up moved to the first generation it would count
    warm = constant_daily(30, 20.0, 30.0, 75.0, 0.0, start="2016-03-16")
    assert int(run(None, warm, pests=["leaf_miner"])["event"].sum()) == 0
    early = {"leaf_miner": {"population.half_generations": 1.0, "population.spread_generations": 0.1}}
    assert int(run(None, warm, pests=["leaf_miner"], params=early)["event"].sum()) >= 1
    weather = daily_weather("2015-01-01", "2016-12-31", n_plots=2, seed=3)
    r = run(None, weather, pests=["leaf_miner"])  # default calendar: spring flush from 16 March
    w = r["weight"].sel(pest="leaf_miner").to_pandas().sum(axis=1)
    e = r["event"].sel(pest="leaf_miner").to_pandas().sum(axis=1)
    spring = w.index.month.isin([3, 4])
    summer_autumn = w.index.month.isin([5, 6, 7, 8, 9])
    assert e[spring].sum() == 0 and e[summer_autumn].sum() > 0
    assert w[spring].sum() < 0.01 * w[summer_autumn].sum()
    # the same through the growth model's ages: a cohort emerging 1 March
    times = weather["time"].values
    age = np.where(
        (pd.DatetimeIndex(times).month == 3) | (pd.DatetimeIndex(times).month == 4),
        (pd.DatetimeIndex(times).day_of_year - 60).astype(float),
        np.nan,
    )
    host = {"flush_age_d": _da(weather, np.where(age >= 0, age, np.nan))}
    r2 = run(None, weather, host=host, pests=["leaf_miner"])
    assert float(r2["weight"].sum()) == pytest.approx(0.0, abs=1e-3)


def test_host_ages_are_checked():
    wet = constant_daily(5, 22.0, 29.0, 95.0, 20.0)
    with pytest.raises(InputError, match="host state fruit_age_d has values from -3 to -3; it must be days"):
        run(None, wet, host={"fruit_age_d": _da(wet, -3.0)})
    with pytest.raises(InputError, match="unknown host state 'leaf_age'"):
        run(None, wet, host={"leaf_age": _da(wet, 3.0)})


def test_canker_exposure_windward_slope_above_lee_slope():
    e = wind_rain_exposure(
        [20.0, 20.0, 0.0, 20.0], [202.5, 22.5, 0.0, 202.5], [1.0, 1.0, 1.0, 0.9],
        rain_wind_from_deg=202.5, windward_gain=1.0,
    )
    assert e[0] == pytest.approx(1 + np.sin(np.radians(20)))
    assert e[1] == pytest.approx(1 - np.sin(np.radians(20)))
    assert e[2] == pytest.approx(1.0) and e[3] == pytest.approx(0.9 * e[0])
    # a windward plot's canker weight is larger than a lee plot's on the same weather and host
    wet = constant_daily(7, 22.0, 29.0, 95.0, 20.0, n_plots=2)
    plots = xr.Dataset(
        {"slope_deg": ("plot", [20.0, 20.0]), "aspect_deg": ("plot", [202.5, 22.5]),
         "sky_view_factor": ("plot", [1.0, 1.0])},
        coords={"plot": ["P0", "P1"]},
    )
    r = run(plots, wet, host={"flush_fraction": _da(wet, 1.0)}, pests=["canker"])
    w = r["weight"].sel(pest="canker").sum("time").values
    assert w[0] > 1.5 * w[1] > 0
    assert "canker exposure: plot slope" in r.attrs["host_state_source"]


@pytest.fixture(scope="module")
def weather():
    return daily_weather("2010-01-01", "2016-12-31", n_plots=3, seed=1)


def test_expected_severity_daily(weather):
    o = outlook(None, weather, "2016-06-20")
    sev = o["expected_severity_daily"]
    assert sev.dims == ("plot", "pest", "lead_day") and sev.attrs["units"] == "1"
    np.testing.assert_array_equal(sev["lead_day"].values, o["cumulative_probability"]["lead_day"].values)
    assert float(sev.min()) >= 0 and float(sev.sel(pest=["black_spot", "canker"]).max()) > 0
    # severity only where some member has an event that day: never before the first chance of one
    cp = o["cumulative_probability"].values
    assert not ((sev.values > 0) & (cp == 0)).any()
    assert "days_since_event" in o
    # no fruit, no flush: no black-spot or canker severity at all
    none = {
        "fruit_age_d": xr.full_like(weather["tmin_c"], np.nan),
        "flush_age_d": xr.full_like(weather["tmin_c"], np.nan),
    }
    o2 = outlook(None, weather.sel(time=slice(None, "2016-06-20")), "2016-06-20", host=none)
    assert float(o2["expected_severity_daily"].sel(pest=["black_spot", "canker"]).max()) == 0.0


def test_outlook_carries_the_growth_ages_into_the_horizon(weather):
    """The chain's growth model stops at the issue date: fruit 30 d old then is 31-45 d old in the 15 days."""
    issue = "2016-06-20"
    season = weather.sel(time=slice("2016-01-01", issue))
    t = pd.DatetimeIndex(season["time"].values)
    fruit_age = np.where(t >= pd.Timestamp("2016-05-21"), (t - pd.Timestamp("2016-05-21")).days, np.nan)
    host = {"fruit_age_d": _da(season, fruit_age.astype(float))}
    o = outlook(None, weather, issue, host=host, pests=["black_spot"])
    assert float(o["probability"].sel(pest="black_spot", horizon="15d").mean()) > 0
    assert "carried on after its last day" in o.attrs["host_state_source"]
    late = {"fruit_age_d": _da(season, (fruit_age + 200).astype(float))}  # fruit older than 150 d
    o_late = outlook(None, weather, issue, host=late, pests=["black_spot"])
    assert float(o_late["probability"].sel(pest="black_spot").max()) == 0.0
