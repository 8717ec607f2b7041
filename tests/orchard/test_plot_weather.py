"""Plot weather from the database: station readings moved to each plot's elevation."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from orchard import store
from orchard.errors import InputError
from orchard.plot_weather import plot_weather
from orchard.plots import PlotSet


@pytest.fixture
def session(sample_home):
    engine = store.init_db(f"sqlite:///{sample_home / 'orchard.db'}")
    with store.session_scope(engine) as s:
        yield s
    engine.dispose()


def sample_plots(session):
    return PlotSet.from_records(store.all_plots(session))


def test_daily_plot_weather_is_lapse_adjusted_and_complete(session, sample_dir):
    plots = sample_plots(session)
    ds = plot_weather(session, plots, start="2016-07-01", end="2016-07-31 23:59")
    assert ds.sizes == {"time": 31, "plot": 30}
    station_elevation = 265.0
    expected = -0.6 * (plots.frame["elevation_m"] - station_elevation) / 100.0
    np.testing.assert_allclose(ds["temperature_offset_c"].sel(plot=plots.plot_ids), expected, atol=1e-9)
    raw = pd.read_csv(sample_dir / "weather" / "changting_58911_meteo_daily.csv", comment="#")
    july = raw[raw["DATETIME"].str.startswith("2016-07")]
    np.testing.assert_allclose(ds["tmax_c"].sel(plot="CT01").values, july["TMAX"].to_numpy() + expected["CT01"],
                               atol=1e-6)
    gauge = pd.read_csv(sample_dir / "weather" / "changting_hetian_81502750_pcp_daily.csv", skiprows=1)
    july_rain = gauge[gauge["DATETIME"].str.startswith("2016-07")]["81502750"].sum()
    assert float(ds["precip_mm"].sel(plot="CT01").sum()) == pytest.approx(july_rain)
    assert ds.attrs["parameter_set"].startswith("weather@")


def test_far_station_must_be_named(session):
    plots = sample_plots(session)
    # the plots' own station 58911 holds no hourly readings: refused, never replaced by another station
    with pytest.raises(InputError, match=r"plot CT01 \(and 29 more plots\) names station 58911, which has no "
                                         r"hourly readings between 2014-01-01 and 2014-01-01 23:00"):
        plot_weather(session, plots, resolution="hourly", start="2014-01-01", end="2014-01-01 23:00")
    unnamed = PlotSet(plots.frame.assign(station_id=None), plots.source, plots.horizon_deg)
    with pytest.raises(InputError, match=r"nearest station with hourly data is chengdu, 1\d{3} km away"):
        plot_weather(session, unnamed, resolution="hourly", start="2014-01-01", end="2014-01-01 23:00")
    named = plot_weather(session, plots, resolution="hourly", start="2014-01-01", end="2014-01-01 23:00",
                         station_id="chengdu")
    assert named.sizes["time"] == 24 and set(named["station_id"].values) == {"chengdu"}


def test_no_readings_in_range_is_one_sentence(session):
    with pytest.raises(InputError, match="no daily weather readings between 1990-01-01"):
        plot_weather(session, sample_plots(session), start="1990-01-01", end="1990-02-01")


def test_written_netcdf_round_trips(session, tmp_path):
    ds = plot_weather(session, sample_plots(session), start="2015-01-01", end="2015-01-10 23:59")
    ds.to_netcdf(tmp_path / "plot_weather.nc")
    back = xr.open_dataset(tmp_path / "plot_weather.nc")
    xr.testing.assert_allclose(back["tmin_c"], ds["tmin_c"])
    assert back["tmin_c"].attrs["units"] == ds["tmin_c"].attrs["units"]


def test_the_latest_stored_lapse_rate_is_used(sample_home, tmp_path):
    import shutil

    from orchard import params

    shutil.copy(sample_home / "orchard.db", tmp_path / "orchard.db")
    engine = store.init_db(f"sqlite:///{tmp_path / 'orchard.db'}")
    with store.session_scope(engine) as s:
        core = params.current_core_parameters(s)
        params.save_version(s, core.with_overrides({"elevation.lapse_rate": 0.45}), author="agronomist_zhao")
    with store.session_scope(engine) as s:
        plots = sample_plots(s)
        ds = plot_weather(s, plots, start="2016-07-01", end="2016-07-02 23:59")
        expected = -0.45 * (plots.frame.loc["CT01", "elevation_m"] - 265.0) / 100.0
        assert float(ds["temperature_offset_c"].sel(plot="CT01")) == pytest.approx(expected)
        assert ds.attrs["parameter_set"] == f"weather@{params.current_core_parameters(s).hash}"
    engine.dispose()
