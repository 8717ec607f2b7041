"""Synthetic plot weather for the pests tests (seeded, humid subtropical cycle), imported by the tests."""

import numpy as np
import pandas as pd
import xarray as xr


def daily_weather(start="2010-01-01", end="2016-12-31", n_plots=3, seed=0):
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    n = len(days)
    doy = days.day_of_year.to_numpy()[:, None]
    season = -np.cos(2 * np.pi * (doy - 20) / 365.25)
    tmean = 18 + 10 * season + rng.normal(0, 1.5, (n, n_plots))
    amp = 4 + rng.uniform(0, 2, (n, n_plots))
    wet_season = np.clip(0.5 + 0.5 * season, 0.05, 1)
    rain = np.where(rng.random((n, n_plots)) < 0.2 + 0.35 * wet_season, rng.gamma(0.9, 12, (n, n_plots)), 0.0)
    rh = np.clip(72 + 10 * wet_season + 0.4 * np.minimum(rain, 30) + rng.normal(0, 4, (n, n_plots)), 30, 99)
    ds = xr.Dataset(
        {
            "tmin_c": (("time", "plot"), tmean - amp),
            "tmax_c": (("time", "plot"), tmean + amp),
            "tmean_c": (("time", "plot"), tmean),
            "rh_mean_pct": (("time", "plot"), rh),
            "precip_mm": (("time", "plot"), rain),
            "wind_ms": (("time", "plot"), rng.uniform(0.5, 3, (n, n_plots))),
        },
        coords={
            "time": days.values,
            "plot": [f"P{i}" for i in range(n_plots)],
            "lat": ("plot", np.full(n_plots, 29.6)),
            "lon": ("plot", np.full(n_plots, 106.5)),
        },
    )
    ds.attrs.update(resolution="daily", source="synthetic test weather", utc_offset_h=8.0)
    return ds


def constant_daily(days, tmin, tmax, rh, rain, wind=1.0, n_plots=1, start="2016-05-01"):
    """A constant daily weather dataset (one value per variable) for constructed scenarios."""
    times = pd.date_range(start, periods=days, freq="D")

    def arr(v):
        a = np.asarray(v, float)
        return np.broadcast_to(a.reshape(-1, 1) if a.ndim else a, (days, n_plots)).copy()

    ds = xr.Dataset(
        {
            "tmin_c": (("time", "plot"), arr(tmin)),
            "tmax_c": (("time", "plot"), arr(tmax)),
            "rh_mean_pct": (("time", "plot"), arr(rh)),
            "precip_mm": (("time", "plot"), arr(rain)),
            "wind_ms": (("time", "plot"), arr(wind)),
        },
        coords={
            "time": times.values,
            "plot": [f"P{i}" for i in range(n_plots)],
            "lat": ("plot", np.full(n_plots, 29.6)),
            "lon": ("plot", np.full(n_plots, 106.5)),
        },
    )
    ds["tmean_c"] = (ds["tmin_c"] + ds["tmax_c"]) / 2
    ds.attrs.update(resolution="daily", source="constructed")
    return ds
