"""orchard.forecast: recorded Open-Meteo responses on plots, bias adjustment, climatology fallback."""

import json
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from orchard import weather as ow
from orchard.errors import InputError
from orchard.forecast import bias_adjust, cell_id, forecast_for_plots, relaxation_weight

DATA = Path(__file__).resolve().parents[1] / "data" / "openmeteo"


def _payload(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture
def plots():
    return xr.Dataset(
        {
            "lat": ("plot", [29.56, 29.57]),
            "lon": ("plot", [106.55, 106.56]),
            "elevation_m": ("plot", [444.0, 244.0]),
        },
        coords={"plot": ["A", "B"]},
    )


@pytest.fixture
def climatology():
    days = pd.date_range("2010-01-01", "2015-12-31")
    n = len(days)
    ds = ow.weather_dataset(
        {
            "tmin_c": np.full((n, 2), 20.0),
            "tmax_c": np.full((n, 2), 28.0),
            "precip_mm": np.full((n, 2), 4.0),
            "rh_mean_pct": np.full((n, 2), 80.0),
        },
        days,
        ["A", "B"],
        lat=[29.56, 29.57],
        lon=[106.55, 106.56],
        resolution="daily",
        source="station: test",
    )
    return ow.climatology(ds).rename(station="plot")


def test_recorded_responses_on_plots(plots):
    hourly = forecast_for_plots(
        plots, resolution="hourly", responses=_payload("forecast_chongqing.json"), issue_date="2025-05-11"
    )
    assert dict(hourly.sizes) == {"time": 72, "plot": 2}
    # plot A is 200 m above the model cell (244 m): 1.2 degC cooler with 0.6 degC/100 m
    diff = (hourly["t_c"].sel(plot="B") - hourly["t_c"].sel(plot="A")).values
    np.testing.assert_allclose(diff, 1.2, atol=1e-9)
    ens = forecast_for_plots(
        plots,
        kind="ensemble",
        resolution="hourly",
        responses=_payload("ensemble_chongqing.json"),
        issue_date="2025-05-11",
    )
    assert ens.sizes["member"] == 3 and ens.attrs["source"].startswith("ensemble: Open-Meteo")
    seasonal = forecast_for_plots(plots, kind="seasonal", responses=_payload("seasonal_chongqing.json"))
    assert seasonal.sizes["member"] == 2 and seasonal.sizes["time"] == 5
    assert cell_id(29.56, 106.55) == "29.6N106.6E"


def test_relaxation_weight():
    np.testing.assert_allclose(relaxation_weight([1, 10, 28, 46, 90]), [0, 0, 0.5, 1, 1])


def test_bias_adjust_relaxes_to_station_climatology(climatology):
    times = pd.date_range("2025-06-01", periods=60)
    fc = xr.Dataset(
        {
            "tmax_c": (
                ("time", "plot", "member"),
                np.full((60, 2, 2), 33.0) + np.array([-1.0, 1.0])[None, None, :],
            ),
            "precip_mm": (("time", "plot", "member"), np.full((60, 2, 2), 8.0)),
        },
        coords={"time": times.values, "plot": ["A", "B"], "member": [0, 1]},
        attrs={"resolution": "daily", "source": "seasonal: test"},
    )
    adj = bias_adjust(fc, climatology, issue_date="2025-05-31")
    mean = adj["tmax_c"].mean("member")
    np.testing.assert_allclose(mean.isel(time=slice(0, 10)).values, 33.0)  # lead 1-10: forecast kept
    np.testing.assert_allclose(mean.isel(time=slice(46, None)).values, 28.0)  # lead >= 46: climatology
    np.testing.assert_allclose((adj["tmax_c"].sel(member=1) - adj["tmax_c"].sel(member=0)).values, 2.0)
    np.testing.assert_allclose(adj["precip_mm"].isel(time=-1).values, 4.0)
    assert "relaxed to the station climatology" in adj.attrs["bias_adjustment"]
    # delta method with a known model climatology removes a +3 degC model bias at every lead
    model = climatology + 3.0
    delta = bias_adjust(
        fc,
        climatology,
        model_climatology=model,
        issue_date="2025-05-31",
        relax_start_day=100,
        relax_end_day=200,
    )
    np.testing.assert_allclose(delta["tmax_c"].mean("member").values, 30.0)


def test_unreachable_service_falls_back_to_climatology_or_says_so(plots, climatology):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    fb = forecast_for_plots(plots, opener=offline, station_climatology=climatology, issue_date="2025-05-11")
    assert fb.attrs["source"] == "climatology (forecast unavailable)"
    assert "could not reach Open-Meteo" in fb.attrs["forecast_fallback"]
    assert pd.Timestamp(fb["time"].values[0]) == pd.Timestamp("2025-05-12") and fb.sizes["time"] == 16
    np.testing.assert_allclose(fb["tmax_c"].values, 28.0)
    with pytest.raises(
        InputError,
        match=r"could not reach Open-Meteo \(Name or service not known\) and no "
        "station climatology was given",
    ):
        forecast_for_plots(plots, opener=offline, issue_date="2025-05-11")


def test_fetch_requests_daily_variables_and_bad_input(plots):
    seen = []

    class Response:
        def read(self):
            return json.dumps(_payload("seasonal_chongqing.json")).encode()

    def opener(url, timeout):
        seen.append(url)
        return Response()

    ds = forecast_for_plots(plots, kind="seasonal", opener=opener)
    assert len(seen) == 1 and "relative_humidity_2m_mean" in seen[0] and ds.sizes["member"] == 2
    with pytest.raises(InputError, match="unknown forecast kind 'nowcast'"):
        forecast_for_plots(plots, kind="nowcast")
    with pytest.raises(InputError, match="seasonal API has no hourly data"):
        forecast_for_plots(plots, kind="seasonal", resolution="hourly")
    with pytest.raises(InputError, match="no recorded Open-Meteo response for cell"):
        forecast_for_plots(plots, responses={"0N0E": _payload("forecast_chongqing.json")})
