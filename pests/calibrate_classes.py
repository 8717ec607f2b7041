"""Risk-class bounds from the distribution of the model's own risk scores (science note decisions §8).

The five levels of :mod:`pests.outlook` are cut from the risk score by four bounds per pest and horizon
(``level.<pest>_<horizon>`` in ``pests/parameters/outlook.toml``). This script sets them so that the upper
levels are the upper tail of what the model itself produces on a weather record:

1. issue an outlook every week (Mondays) from 1 March to 29 November of each season, on the plots' own
   weather, with the climatology members the outlook uses (the other years of the record) and the default
   host calendar (or whatever host the caller passes);
2. pool the risk scores per pest and horizon over plots, weeks and seasons; by default only the
   host-susceptible weeks (some day of the horizon with the pest's host at or above its threshold; mites:
   every week), as decisions §8 proposes;
3. take the empirical percentiles ``level.percentiles`` (P40/P65/P85/P95) as the bounds of levels 2–5, so
   that level ≥ 4 covers about 15 % and level 5 about 5 % of the pooled weeks; bounds that tie (many equal
   scores, e.g. 0 in weeks without host) are nudged up by ``EPS`` to stay increasing;
4. report the share of plot-weeks at levels 4–5 per pest and season from March to November.

Reproduce on the sample district (the database ``orchard init --sample`` builds)::

    ORCHARD_HOME=/tmp/pests_home .venv/bin/orchard init --sample
    ORCHARD_HOME=/tmp/pests_home .venv/bin/python -m pests.calibrate_classes --seasons 2012-2017 [--write]

``--write`` rewrites the ``value`` lines of the ``level.<pest>_<horizon>`` entries in
``pests/parameters/outlook.toml`` (the rest of the file is left as it is).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .model import host_inputs
from .outlook import HORIZONS, level_of, outlook
from .paramsets import PARAMETER_DIR, check_pests, load_all

__all__ = ["weekly_scores", "class_bounds", "level_shares", "write_bounds", "main"]

#: Smallest step between two bounds [score points].
EPS = 0.01


def _threshold(params, pest) -> float:
    p = params[pest]
    if pest == "black_spot":
        return float(p["host.susceptible_threshold"])
    return float(p["host.flush_threshold"])


def weekly_scores(
    plots,
    weather: xr.Dataset,
    seasons,
    params=None,
    host=None,
    pests=None,
    first="03-01",
    last="11-29",
    freq="W-MON",
) -> xr.Dataset:
    """Risk scores of weekly outlooks (Mondays from ``first`` to ``last`` of each season; ``freq`` another
    pandas frequency, e.g. ``2W-MON`` for every other Monday).

    Returns
    -------
    xarray.Dataset dims (issue, plot, pest, horizon): ``risk_score`` [0–100], ``susceptible`` (bool: some
    day of the horizon with the pest's host at or above its threshold; mites always), ``season``
    coordinate on ``issue``.
    """
    pests = check_pests(pests)
    params = load_all(params, pests)
    horizon_days = [int(d) for d in params["outlook"]["horizon.days"]]
    issues = []
    for year in seasons:
        issues += list(pd.date_range(f"{year}-{first}", f"{year}-{last}", freq=freq))
    scores, suscept = [], []
    for issue in issues:
        ds = outlook(plots, weather, issue, params=params, host=host, pests=list(pests), workers=1)
        scores.append(ds["risk_score"].transpose("plot", "pest", "horizon").values)
        days = pd.date_range(issue + pd.Timedelta(days=1), periods=horizon_days[-1], freq="D")
        hosts, _ = host_inputs(plots, days, ds["plot"].values, host, params)
        flags = np.ones(scores[-1].shape, bool)
        for j, pest in enumerate(pests):
            if pest == "mites":
                continue
            ok = hosts[pest] >= _threshold(params, pest)  # (day, plot)
            for k, h in enumerate(horizon_days):
                flags[:, j, k] = ok[:h].any(axis=0)
        suscept.append(flags)
        plot_ids = ds["plot"].values
    coords = {
        "issue": pd.DatetimeIndex(issues),
        "plot": plot_ids,
        "pest": list(pests),
        "horizon": list(HORIZONS[: len(horizon_days)]),
    }
    out = xr.Dataset(
        {
            "risk_score": (("issue", "plot", "pest", "horizon"), np.stack(scores)),
            "susceptible": (("issue", "plot", "pest", "horizon"), np.stack(suscept)),
        },
        coords=coords,
    )
    return out.assign_coords(season=("issue", pd.DatetimeIndex(issues).year))


def class_bounds(scores, percentiles=(40.0, 65.0, 85.0, 95.0)) -> list:
    """Bounds of levels 2–5 [score points]: the empirical percentiles of ``scores``, strictly increasing
    (ties nudged up by :data:`EPS`), rounded to 0.01."""
    s = np.asarray(scores, float)
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise ValueError("no scores to calibrate on")
    q = np.percentile(s, percentiles)
    out = []
    for b in q:
        b = float(np.round(b, 2))
        if out and b <= out[-1]:
            b = round(out[-1] + EPS, 2)
        out.append(max(b, EPS))
    return out


def level_shares(scores: xr.Dataset, bounds: dict, horizon: str = "15d") -> pd.DataFrame:
    """Share of plot-weeks at levels 4–5 per season (rows) and pest (columns) for ``horizon``."""
    rows = {}
    for pest in scores["pest"].values:
        s = scores["risk_score"].sel(pest=pest, horizon=horizon)
        lv = level_of(s.values, bounds[str(pest)][horizon])
        high = xr.DataArray(lv >= 4, dims=s.dims, coords=s.coords)
        rows[str(pest)] = high.groupby("season").mean(...).to_pandas()
    return pd.DataFrame(rows)


def write_bounds(bounds: dict, path: Path | None = None, note: str = "") -> Path:
    """Rewrite the ``value`` of each ``[level.<pest>_<horizon>]`` entry of the outlook TOML."""
    path = Path(path or PARAMETER_DIR / "outlook.toml")
    text = path.read_text(encoding="utf-8")
    for pest, by_h in bounds.items():
        for h, b in by_h.items():
            key = f"level.{pest}_{h}"
            pattern = re.compile(r"(\[" + re.escape(key) + r"\]\s*\nvalue = )\[[^\]]*\]")
            if not pattern.search(text):
                raise KeyError(f"{path} has no [{key}] entry with a value list")
            text = pattern.sub(lambda m, b=b: m.group(1) + "[" + ", ".join(f"{x:.2f}" for x in b) + "]", text)
    path.write_text(text, encoding="utf-8")
    return path


def _sample_weather(seasons):
    """Plots and daily plot weather of the database in ORCHARD_HOME (the sample district)."""
    from orchard import store
    from orchard.cli_common import engine
    from orchard.plot_weather import plot_weather
    from orchard.plots import PlotSet

    with store.session_scope(engine()) as session:
        plots = PlotSet.from_records(store.all_plots(session))
        weather = plot_weather(session, plots, resolution="daily", end=f"{max(seasons)}-12-31")
    return plots.to_dataset(), weather


def _seasons(text: str) -> list[int]:
    if "-" in text:
        a, b = (int(x) for x in text.split("-"))
        return list(range(a, b + 1))
    return [int(x) for x in text.split(",")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pests.calibrate_classes", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--seasons", default="2012-2017", help="e.g. 2012-2017 or 2014,2016")
    ap.add_argument("--basis", choices=["susceptible", "all"], default="susceptible")
    ap.add_argument("--percentiles", help="override level.percentiles, e.g. 40,65,85,95")
    ap.add_argument(
        "--write", action="store_true", help="write the bounds into pests/parameters/outlook.toml"
    )
    args = ap.parse_args(argv)
    seasons = _seasons(args.seasons)
    plots, weather = _sample_weather(seasons)
    params = load_all()
    given = args.percentiles.split(",") if args.percentiles else params["outlook"]["level.percentiles"]
    pct = [float(x) for x in given]
    scores = weekly_scores(plots, weather, seasons, params=params)
    bounds = {}
    for pest in scores["pest"].values:
        bounds[str(pest)] = {}
        for h in scores["horizon"].values:
            s = scores["risk_score"].sel(pest=pest, horizon=h)
            if args.basis == "susceptible":
                s = s.where(scores["susceptible"].sel(pest=pest, horizon=h))
            bounds[str(pest)][str(h)] = class_bounds(s.values, pct)
    print(f"bounds (percentiles {pct} of {args.basis} plot-weeks, seasons {seasons[0]}-{seasons[-1]}):")
    for pest, by_h in bounds.items():
        print(f"  {pest}: " + "; ".join(f"{h} {b}" for h, b in by_h.items()))
    share = level_shares(scores, bounds, "15d")
    print("share of plot-weeks at levels 4-5 (15-day level, Mondays 1 March - 29 November):")
    print((100 * share).round(1).to_string())
    if args.write:
        print(f"written: {write_bounds(bounds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
