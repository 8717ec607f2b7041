"""Write the recorded Open-Meteo responses of the live tests (seeded; rerun to rebuild them byte for byte).

They are NOT captured live (the tests run offline): they follow the documented response format of the
forecast, ensemble, seasonal and archive APIs (https://open-meteo.com/en/docs, .../ensemble-api,
.../seasonal-forecast-api, .../historical-weather-api): ``latitude``, ``longitude``, ``elevation``,
``utc_offset_seconds``, ``timezone``, ``daily_units`` and ``daily`` with ``time`` and one array per variable,
members as ``<variable>_memberNN`` (the unsuffixed variable is the control run). Values are synthetic but
plausible for July at the two sample stations: smooth seasonal means plus seeded day-to-day and member noise.

    python tests/data/openmeteo_live/make_recorded.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
ISSUE = "2016-07-15"
#: station id -> (lat, lon, elevation of the model cell, July tmax, tmin, RH)
STATIONS = {"58911": (25.75, 116.33, 270.0, 33.5, 24.0, 78.0),
            "chengdu": (30.66, 104.07, 500.0, 30.5, 22.5, 81.0)}
UNITS = {"temperature_2m_max": "°C", "temperature_2m_min": "°C", "temperature_2m_mean": "°C",
         "relative_humidity_2m_mean": "%", "precipitation_sum": "mm", "wind_speed_10m_mean": "m/s",
         "shortwave_radiation_sum": "MJ/m²"}


def _series(rng, days: pd.DatetimeIndex, tmax: float, tmin: float, rh: float, hot: float = 0.0) -> dict:
    doy = days.dayofyear.to_numpy()
    season = np.cos(2 * np.pi * (doy - 200) / 365.25)  # warmest near 19 July
    wet = rng.random(len(days)) < 0.45
    rain = np.where(wet, rng.gamma(0.8, 9.0, len(days)), 0.0)
    tx = tmax - 9.0 * (1 - season) + hot + rng.normal(0, 1.4, len(days)) - 0.25 * rain
    tn = tmin - 9.0 * (1 - season) + hot + rng.normal(0, 0.9, len(days))
    return {
        "temperature_2m_max": np.round(tx, 1), "temperature_2m_min": np.round(np.minimum(tn, tx - 3), 1),
        "temperature_2m_mean": np.round((tx + np.minimum(tn, tx - 3)) / 2, 1),
        "relative_humidity_2m_mean": np.round(
            np.clip(rh + 2.0 * (rain > 1) + rng.normal(0, 4, len(days)), 30, 100)),
        "precipitation_sum": np.round(rain, 1),
        "wind_speed_10m_mean": np.round(rng.gamma(4.0, 0.45, len(days)), 1),
        "shortwave_radiation_sum": np.round(
            np.clip(21.0 - 0.4 * rain + rng.normal(0, 2, len(days)), 3, 30), 2),
    }


def _response(lat, lon, elevation, days, members: list[dict]) -> dict:
    daily = {"time": [d.strftime("%Y-%m-%d") for d in days]}
    units = {"time": "iso8601"}
    for m, values in enumerate(members):
        suffix = f"_member{m:02d}" if m else ""
        for name, arr in values.items():
            daily[name + suffix] = [float(v) for v in arr]
            units[name + suffix] = UNITS[name]
    return {"latitude": round(lat * 4) / 4, "longitude": round(lon * 4) / 4, "generationtime_ms": 2.1,
            "utc_offset_seconds": 28800, "timezone": "Asia/Shanghai", "timezone_abbreviation": "GMT+8",
            "elevation": elevation, "daily_units": units, "daily": daily}


def main() -> None:
    rng = np.random.default_rng(20161115)
    issue = pd.Timestamp(ISSUE)
    for sid, (lat, lon, elev, tmax, tmin, rh) in STATIONS.items():
        # the APIs' day 1 is the day the forecast is fetched (today), so the issue date itself comes first
        for kind, n_days, n_members in (("forecast", 16, 1), ("ensemble", 16, 11), ("seasonal", 92, 5)):
            days = pd.date_range(issue, periods=n_days, freq="D")
            members = [_series(rng, days, tmax, tmin, rh, hot=1.0) for _ in range(n_members)]
            payload = _response(lat, lon, elev, days, members)
            text = json.dumps(payload, ensure_ascii=False) + "\n"
            (HERE / f"{kind}_{sid}.json").write_text(text, encoding="utf-8")
    # reanalysis of the belt's Fengjie station (57348, no observations shipped): 2009-01-01 to the day before
    days = pd.date_range("2009-01-01", issue - pd.Timedelta(days=1), freq="D")
    payload = _response(31.0333, 109.4833, 299.8, days, [_series(rng, days, 33.0, 24.5, 76.0)])
    (HERE / "archive_57348.json").write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
