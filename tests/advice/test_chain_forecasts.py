"""Stored forecasts in the weekly chain (advice/forecasts.py, issue #20): the 15-day horizon runs on the
forecast members of the issue date, the long horizons on seasonal members blended with climatology, each
result says which it used, and without a stored forecast nothing changes."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import xarray as xr

from advice.chain import run_chain
from advice.forecasts import forecast_on_plots, stored_members
from orchard import config, forecast_store, store
from orchard.weather_fetch import FetchSettings, fetch_weather
from tests.openmeteo_server import OpenMeteoStub

ISSUE = "2016-07-15"
PLOTS = ["CT01", "CT13", "CT22"]


@pytest.fixture
def engine(sample_home_copy):
    return store.init_db(config.database_url())


def _fetch(engine, kinds=("forecast", "ensemble", "seasonal")):
    with OpenMeteoStub() as stub:
        report = fetch_weather(engine, issued_on=date(2016, 7, 15), kinds=kinds, archive=False,
                               settings=FetchSettings(base_url=stub.url, cache_dir=None),
                               sleep=lambda s: None)
    assert not report.errors and report.unreachable is None


def _pests(result, engine):
    from orchard import results

    with store.session_scope(engine) as session:
        status = results.plot_status(session, "agronomist_zhao", PLOTS[0])
    return results.module_output(status, "pests")


def test_without_a_stored_forecast_the_outlooks_say_climatology(engine):
    result = run_chain(engine, ISSUE, plot_ids=PLOTS)
    pests = _pests(result, engine)
    assert pests.attrs["forecast_source"] == "none (climatology)" and pests.attrs["seasonal_source"] == "none"
    assert result.sources["forecast"] == "none (climatology)"
    assert pests.attrs["weather_source_15d"].startswith("climatology: 4 past years (2015, 2014, 2013, 2012)")


def test_the_15_day_outlook_uses_the_stored_forecast_and_says_so(engine):
    baseline = run_chain(engine, ISSUE, plot_ids=PLOTS, store_result=False)
    _fetch(engine)
    result = run_chain(engine, ISSUE, plot_ids=PLOTS)
    pests = _pests(result, engine)
    assert pests.attrs["forecast_source"].startswith("ensemble: Open-Meteo, issued 2016-07-15")
    assert "(11 members) + deterministic forecast (1 member)" in pests.attrs["forecast_source"]
    assert int(pests["n_members"].sel(horizon="15d")) == 12
    assert pests.attrs["weather_source_15d"].startswith("12 members: ensemble: Open-Meteo")
    assert pests.attrs["weather_source_1m"].startswith("5 members: seasonal: Open-Meteo")
    short = json.loads(pests.attrs["member_sources_15d"])
    assert len(short) == 12 and all(m.startswith("ensemble: Open-Meteo") for m in short)
    assert pests.attrs["seasonal_source"].startswith("seasonal: Open-Meteo, issued 2016-07-15")
    assert "relaxed to the station climatology from lead day 10" in result.sources["forecast"]
    assert result.sources["growth_outlook"].startswith("30-day outlook: ensemble: Open-Meteo")
    assert result.sources["pests"].startswith("ensemble: Open-Meteo")
    # and it changes the numbers: the recorded July forecast is not the past Julys
    changed = [b.evidence != r.evidence for b, r in zip(baseline.recommendations, result.recommendations)]
    assert baseline.status["plot_id"].tolist() == result.status["plot_id"].tolist()
    assert any(changed) or not np.array_equal(
        baseline.status["max_pest_level_15d"].to_numpy(), result.status["max_pest_level_15d"].to_numpy()) or \
        json.dumps(baseline.status["pests"].tolist()) != json.dumps(result.status["pests"].tolist())


def _store_scaled(engine, *, rain_factor: float, rh: float):
    """Replace the stored 15-day forecast and ensemble by a copy with its rain scaled and humidity set."""
    with store.session_scope(engine) as session:
        for kind in ("forecast", "ensemble"):
            ds = forecast_store.stored_forecast(session, date(2016, 7, 15), kind)
            wet = ds.copy()
            wet["precip_mm"] = ds["precip_mm"] * rain_factor
            wet["rh_mean_pct"] = xr.full_like(ds["rh_mean_pct"], rh)
            for sid in wet["station"].values:
                forecast_store.store_forecast(session, wet.sel(station=[sid]), station_id=str(sid), kind=kind,
                                              issued_on=date(2016, 7, 15), source="test: scaled copy")


def test_a_wetter_forecast_raises_the_15_day_infection_risk(engine):
    _fetch(engine, kinds=("forecast", "ensemble"))
    _store_scaled(engine, rain_factor=0.0, rh=55.0)
    dry = run_chain(engine, ISSUE, plot_ids=PLOTS, store_result=False)
    _store_scaled(engine, rain_factor=4.0, rh=95.0)
    wet = run_chain(engine, ISSUE, plot_ids=PLOTS, store_result=False)

    def probability(result, pest):
        return np.array([p[pest]["15d"]["probability"] for p in result.status["pests"]])

    for pest in ("black_spot", "canker"):  # (no canker in mid-July: no young flush to infect)
        assert (probability(wet, pest) >= probability(dry, pest)).all()
    assert probability(wet, "black_spot").mean() > probability(dry, "black_spot").mean() + 0.2


def test_forecast_on_plots_moves_the_station_forecast_and_relaxes_it_to_the_plot_climate(engine):
    from advice.chain import WeeklyChain

    _fetch(engine, kinds=("seasonal",))
    chain = WeeklyChain(skip=("monitoring",))
    import pandas as pd

    from advice.chain import plot_weather_on_slope

    issue = pd.Timestamp(ISSUE)
    with store.session_scope(engine) as session:
        plots, inputs, _ = chain.prepare(session, issue, plot_ids=PLOTS)
        _, seasonal = stored_members(session, date(2016, 7, 15))
    weather = plot_weather_on_slope(plots, inputs.station_weather, inputs.bundle)
    on_plots = forecast_on_plots(seasonal, plots, weather, issue=issue, lapse_rate_c_per_100m=0.6)
    assert dict(on_plots.sizes) == {"time": 92, "plot": 3, "member": 5}
    # by lead day 60 the ensemble mean is the plot's own climatology of that day (weight 1 from day 46)
    day = issue + pd.Timedelta(days=60)
    mean = on_plots["tmax_c"].sel(time=day).mean("member")
    past = weather["tmax_c"].sel(time=weather["time"].dt.dayofyear.isin(range(day.dayofyear - 15,
                                                                              day.dayofyear + 16)))
    assert np.allclose(mean, past.mean("time"), atol=0.6)
    # the members keep their spread around it
    assert float(on_plots["tmax_c"].sel(time=day).std("member").min()) > 0.3
    # early lead days keep the forecast (lapse rate and slope aside): plots 100 m higher are 0.6 °C colder
    day2 = issue + pd.Timedelta(days=2)
    station = seasonal["tmax_c"].sel(time=day2, station="58911").mean("member")
    shift = on_plots["tmax_c"].sel(time=day2).mean("member") - float(station)
    expected = -0.006 * (plots["elevation_m"] - 265.0) + weather["delta_tmax_c"].sel(
        time=slice(issue - pd.Timedelta(days=29), issue)).mean("time")
    assert np.allclose(shift, expected, atol=0.05)


def test_the_plot_climatology_of_the_forecast_days_is_the_whole_years_one():
    import pandas as pd

    from advice.forecasts import plot_climatology
    from orchard import weather as ow

    times = pd.date_range("2010-01-01", "2016-12-31", freq="D")
    rng = np.random.default_rng(7)
    weather = xr.Dataset({"tmax_c": (("time", "plot"), rng.normal(25, 5, (len(times), 3))),
                          "precip_mm": (("time", "plot"), rng.gamma(0.5, 8, (len(times), 3)))},
                         coords={"time": times, "plot": ["a", "b", "c"]}, attrs={"resolution": "daily"})
    issue = pd.Timestamp("2016-12-10")  # the 92 days run over the new year
    part = plot_climatology(weather, issue=issue, days=92)
    whole = ow.climatology(weather)
    need = ow.leap_day_of_year(pd.date_range(issue + pd.Timedelta(days=1), periods=92, freq="D"))
    for name in ("tmax_c", "precip_mm"):
        assert np.allclose(part[name].sel(dayofyear=need), whole[name].sel(dayofyear=need))
    assert np.isnan(part["tmax_c"].sel(dayofyear=200)).all()  # July is not needed in December
