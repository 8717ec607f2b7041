"""Yearly pest risk calendars of the sample district, for docs/pests.md.

Reads the sample weather files directly (no database needed), moves nothing to plot elevation (one station
point each), runs :func:`pests.outlook.risk_calendar` with the default host calendar and, for comparison,
with the host susceptible all year (weather alone), and writes:

- ``docs/img/pests_calendar_changting_daily.png``: Changting daily weather (CMA 58911 + HeTian rain gauge),
  2012-2017, weekly event days per pest averaged over the years;
- ``docs/img/pests_calendar_chengdu_hourly.png``: Chengdu hourly weather (UCI), 2011-2015, hourly cohorts
  (long gaps in temperature and humidity left after QC are interpolated for this figure only).

Run from the repository root: ``.venv/bin/python docs/make_pest_figures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchard import ingest  # noqa: E402
from orchard.sample import sample_paths  # noqa: E402
from pests.outlook import risk_calendar  # noqa: E402
from pests.paramsets import PEST_LABELS  # noqa: E402

COLOURS = {"black_spot": "#444444", "canker": "#d95f02", "mites": "#b2182b", "leaf_miner": "#1b9e77"}


def _as_plot(station_ds: xr.Dataset) -> xr.Dataset:
    ds = station_ds.rename(station="plot")
    return ds.drop_vars([v for v in ds.data_vars if str(v).endswith("_qc")])


def _always(weather: xr.Dataset) -> dict:
    days = pd.DatetimeIndex(weather["time"].values).normalize().unique()
    ones = xr.DataArray(
        np.ones((len(days), weather.sizes["plot"])),
        dims=("time", "plot"),
        coords={"time": days.values, "plot": weather["plot"].values},
    )
    return {"flush_fraction": ones, "fruit_susceptible": ones}


def _weekly_mean(calendar: xr.Dataset) -> pd.DataFrame:
    frame = calendar["events"].mean("plot").to_pandas().T
    week = np.minimum((pd.DatetimeIndex(frame.index).day_of_year - 1) // 7 + 1, 52)
    return frame.groupby(week).mean()


def figure(weather: xr.Dataset, title: str, path: Path) -> None:
    default = _weekly_mean(risk_calendar(None, weather, freq="W-MON"))
    weather_only = _weekly_mean(risk_calendar(None, weather, host=_always(weather), freq="W-MON"))
    fig, axes = plt.subplots(4, 1, figsize=(9, 8), sharex=True)
    for ax, pest in zip(axes, default.columns, strict=True):
        ax.bar(default.index, default[pest], color=COLOURS[pest], label="default host calendar")
        ax.step(
            weather_only.index,
            weather_only[pest],
            where="mid",
            color="k",
            lw=0.8,
            label="host susceptible all year (weather alone)",
        )
        ax.set_ylabel("event days\nper week")
        ax.set_title(PEST_LABELS[pest], fontsize=10, loc="left")
        ax.set_ylim(0, 7.2)
    axes[0].legend(fontsize=8, loc="upper right")
    ticks = [1, 5, 9, 14, 18, 22, 27, 31, 36, 40, 44, 49]
    axes[-1].set_xticks(
        ticks, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
    axes[-1].set_xlabel("week of the year")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    paths = sample_paths()
    daily, _ = ingest.read_and_check_weather(paths["meteo"], format="changting", rain_path=paths["rain"])
    daily = _as_plot(daily).sel(time=slice("2012-01-01", "2017-12-31"))
    hourly, _ = ingest.read_and_check_weather(paths["hourly"], format="uci")
    hourly = _as_plot(hourly).sel(time=slice("2011-01-01", "2015-12-31 23:00"))
    # the model refuses gaps; for this figure only, the few long gaps left after QC are interpolated
    for name in ("t_c", "rh_pct"):
        hourly[name] = hourly[name].interpolate_na("time", fill_value="extrapolate")
    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    figure(
        daily,
        "Changting (CMA 58911, daily), 2012-2017: mean event days per week",
        out / "pests_calendar_changting_daily.png",
    )
    figure(
        hourly,
        "Chengdu (hourly), 2011-2015: mean event days per week (hourly infection cohorts)",
        out / "pests_calendar_chengdu_hourly.png",
    )


if __name__ == "__main__":
    main()
