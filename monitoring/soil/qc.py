"""Quality control of sensor readings: flags, never deletions.

:func:`flag_readings` works on the canonical long frame (``sensor_id, variable, time_utc, raw_value,
missing``), vectorised over all series at once (sorted by sensor, variable, time), and returns an integer
bit mask per row;
:func:`flags_to_text` turns it into the comma-separated codes the store keeps (``"D06,GAP"``; "" = clean).

======= ====== ============================================================================================
code    reject meaning
======= ====== ============================================================================================
M       yes    missing reading (empty cell, NAN, -9999, 6999, 65535)
RNG     yes    outside the plausible range of the variable (``parameters/qc.toml``)
STEP    yes    jump larger than the hourly step limit that does not come back (a level shift)
SPIKE   yes    one reading jumping away and back (non-moisture variables)
PERSIST yes    identical readings for longer than the variable's persistence limit (flat-line)
GAP     no     first reading after an interval longer than ``gap.factor`` × the series' usual interval
DUP     no     the same (sensor, variable, time) appeared more than once in the file (first kept)
TZ      yes    station day whose irradiance is centred away from solar noon (clock in the wrong zone)
IDX     no     7-in-1 N/P/K channel: an uncalibrated index, not a measurement (never used as a nutrient test)
C01     yes    ISMN: θ < 0
C02     yes    ISMN: θ > 60 vol-%
C03     yes    ISMN: θ above saturation (field capacity + margin)
D01     yes    ISMN: soil temperature of the same probe below 0 °C
D06     yes    ISMN: moisture spike (jump > 15 % into and out of one reading)
D07/D08 yes    ISMN: moisture break, falling / rising (> 10 %, > 1 vol-%, > 10× the local mean change)
D09/D10 yes    ISMN: low plateau after a drop / saturated plateau after a rise
======= ====== ============================================================================================

"reject" flags set the cleaned ``value`` to NaN; the raw value is always kept. ISMN D02–D05 need air
temperature, modelled soil temperature or rainfall at the probe and are not applied at ingest (see
docs/soil.md). References: Dorigo et al. (2013) Vadose Zone J. 12(3), doi 10.2136/vzj2012.0097 (rules as
implemented in TUW-GEO/flagit); ASCE-EWRI (2005) App. D; science note soil.md §1.3, §5.2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.soil.variables import INDEX_VARIABLES
from orchard.params import ParameterSet, load_parameters

__all__ = [
    "FLAGS",
    "REJECT_MASK",
    "PARAMETER_FILE",
    "default_parameters",
    "flag_readings",
    "flags_to_text",
    "text_to_flags",
    "clean_values",
]

PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "qc.toml"
FLAGS = {
    code: 1 << i
    for i, code in enumerate(
        (
            "M",
            "RNG",
            "STEP",
            "SPIKE",
            "PERSIST",
            "GAP",
            "DUP",
            "TZ",
            "IDX",
            "C01",
            "C02",
            "C03",
            "D01",
            "D06",
            "D07",
            "D08",
            "D09",
            "D10",
        )
    )
}
#: Flags that keep the value usable (suspicious or informative only).
KEEP = ("GAP", "DUP", "IDX")
REJECT_MASK = sum(bit for code, bit in FLAGS.items() if code not in KEEP)
#: Variables never checked for flat-lines (zero rain and night-time irradiance are normal).
NO_PERSIST = ("precip_mm", "ghi_w_m2")
AIR = ("t_c", "wind_ms", "rh_pct", "pressure_kpa")
MOISTURE = "moisture_m3_m3"


def default_parameters() -> ParameterSet:
    """The shipped QC thresholds (``parameters/qc.toml``)."""
    return load_parameters(PARAMETER_FILE)


def flags_to_text(mask: np.ndarray) -> np.ndarray:
    """Bit masks -> comma-separated flag codes in :data:`FLAGS` order ("" for 0)."""
    mask = np.asarray(mask, dtype=np.int64)
    uniques, inverse = np.unique(mask, return_inverse=True)
    texts = np.array(
        [",".join(code for code, bit in FLAGS.items() if u & bit) for u in uniques], dtype=object
    )
    return texts[inverse.reshape(mask.shape)]


def text_to_flags(texts) -> np.ndarray:
    """Comma-separated codes -> bit masks (unknown codes are ignored)."""
    series = pd.Series(np.asarray(texts, dtype=object)).fillna("")
    uniques = series.unique()
    lookup = {t: sum(FLAGS.get(c, 0) for c in str(t).split(",") if c) for t in uniques}
    return series.map(lookup).to_numpy(np.int64)


def clean_values(raw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The cleaned value: the raw value unless a rejecting flag is set (then NaN)."""
    return np.where((np.asarray(mask) & REJECT_MASK) != 0, np.nan, np.asarray(raw, dtype=float))


def _shift(a: np.ndarray, k: int, fill) -> np.ndarray:
    out = np.empty_like(a)
    if k > 0:
        out[:k] = fill
        out[k:] = a[:-k]
    else:
        out[k:] = fill
        out[:k] = a[-k:]
    return out


def flag_readings(
    frame: pd.DataFrame,
    sensors: pd.DataFrame | None = None,
    params: ParameterSet | None = None,
    duplicated: np.ndarray | None = None,
) -> np.ndarray:
    """QC bit mask of every reading (see the module table).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``sensor_id``, ``variable``, ``time_utc`` (aware), ``raw_value`` [canonical unit] and
        optionally
        ``missing`` (bool). Unique on (sensor_id, variable, time_utc). Any row order.
    sensors : pandas.DataFrame, optional
        ``sensor_id`` with ``depth_m``, ``lon`` [deg E] and ``saturation_m3_m3`` (used by PERSIST, TZ, C03).
    params : ParameterSet, optional
        QC thresholds (default :func:`default_parameters`).
    duplicated : array of bool, optional
        Rows whose key appeared more than once in the file (-> DUP).

    Returns
    -------
    numpy.ndarray of int64, aligned with ``frame``'s rows.
    """
    params = params or default_parameters()
    n = len(frame)
    result = np.zeros(n, dtype=np.int64)
    if n == 0:
        return result
    t_all = pd.DatetimeIndex(pd.to_datetime(frame["time_utc"], utc=True)).as_unit("ns").asi8
    keys = set(iter(params))
    order = np.lexsort(
        (
            t_all,
            frame["variable"].to_numpy(object).astype(str),
            frame["sensor_id"].to_numpy(object).astype(str),
        )
    )
    sensor = frame["sensor_id"].to_numpy(object).astype(str)[order]
    variable = frame["variable"].to_numpy(object).astype(str)[order]
    t_ns = t_all[order]
    hours = (t_ns - t_ns.min()) / 3.6e12
    x = frame["raw_value"].to_numpy(float)[order]
    missing = (
        frame["missing"].to_numpy(bool)[order] if "missing" in frame else np.zeros(n, bool)
    ) | ~np.isfinite(x)
    flags = np.zeros(n, dtype=np.int64)
    flags[missing] |= FLAGS["M"]

    key = pd.Series(sensor) + "\x1f" + pd.Series(variable)
    group = pd.factorize(key)[0]
    same_prev = np.r_[False, group[1:] == group[:-1]]
    same_next = np.r_[group[1:] == group[:-1], False]
    dt = np.where(same_prev, hours - _shift(hours, 1, np.nan), np.nan)
    prev, nxt = _shift(x, 1, np.nan), _shift(x, -1, np.nan)
    prev = np.where(same_prev, prev, np.nan)
    nxt = np.where(same_next, nxt, np.nan)

    meta = _sensor_meta(sensors, sensor)
    var_series = pd.Series(variable)

    # Range and step/spike (non-moisture variables).
    for name in np.unique(variable):
        rows = variable == name
        range_key = "range.index_mg_kg" if name in INDEX_VARIABLES else f"range.{name}"
        if range_key in keys:
            lo, hi = params[range_key]
            flags[rows & ((x < lo) | (x > hi))] |= FLAGS["RNG"]
        if f"step.{name}" in keys:
            limit = float(params[f"step.{name}"])
            close = rows & (dt <= 3.0)
            with np.errstate(invalid="ignore"):
                jump_in = close & (np.abs(x - prev) > limit)
                jump_out = rows & _shift(close, -1, False) & (np.abs(nxt - x) > limit)
                back = np.abs(nxt - prev) <= limit
                opposite = np.sign(x - prev) != np.sign(nxt - x)
            spike = jump_in & jump_out & back & opposite
            step = jump_in & ~spike & ~_shift(spike, 1, False)
            flags[spike] |= FLAGS["SPIKE"]
            flags[step] |= FLAGS["STEP"]
        if name in INDEX_VARIABLES:
            flags[rows] |= FLAGS["IDX"]

    _moisture_rules(flags, variable, x, prev, nxt, dt, group, hours, meta, params)
    _frozen_soil(flags, sensor, variable, t_ns, x)
    _persistence(flags, variable, x, same_prev, group, hours, meta, params)

    # GAP: the first reading after an interval much longer than the series' usual one.
    usual = pd.Series(dt).groupby(group).transform("median").to_numpy()
    with np.errstate(invalid="ignore"):
        gap = same_prev & (dt > float(params["gap.factor"]) * usual) & (dt > 0)
    flags[gap] |= FLAGS["GAP"]

    _time_zone(flags, sensor, variable, t_ns, x, meta, params)
    if duplicated is not None:
        flags[np.asarray(duplicated, bool)[order]] |= FLAGS["DUP"]
    result[order] = flags
    del var_series
    return result


def _sensor_meta(sensors: pd.DataFrame | None, sensor: np.ndarray) -> dict[str, np.ndarray]:
    n = len(sensor)
    out = {"depth_m": np.full(n, np.nan), "lon": np.full(n, np.nan), "saturation_m3_m3": np.full(n, np.nan)}
    if sensors is None or len(sensors) == 0:
        return out
    table = sensors.drop_duplicates("sensor_id").set_index(
        sensors.drop_duplicates("sensor_id")["sensor_id"].astype(str)
    )
    codes, uniques = pd.factorize(pd.Series(sensor))
    for name in out:
        if name in table:
            per_sensor = pd.to_numeric(table[name], errors="coerce").reindex(uniques).to_numpy(float)
            out[name] = per_sensor[codes]
    return out


def _moisture_rules(flags, variable, x, prev, nxt, dt, group, hours, meta, params) -> None:
    rows = variable == MOISTURE
    if not rows.any():
        return
    flags[rows & (x < 0)] |= FLAGS["C01"]
    flags[rows & (x > float(params["ismn.max_theta"]))] |= FLAGS["C02"]
    saturation = meta["saturation_m3_m3"]
    flags[rows & np.isfinite(saturation) & (x > saturation)] |= FLAGS["C03"]
    r = float(params["ismn.spike_ratio"])
    close = dt <= 3.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_in = x / prev
        ratio_out = nxt / x
        up = (ratio_in > 1 + r) & (ratio_out < 1 / (1 + r))
        down = (ratio_in < 1 - r) & (ratio_out > 1 / (1 - r))
        back = np.abs(nxt - prev) <= r * np.abs(prev)
    spike = rows & close & (up | down) & back
    flags[spike] |= FLAGS["D06"]
    # Breaks: a large one-step change that is not a spike, judged against the local (25-reading) mean change.
    idx = np.flatnonzero(rows)
    d1 = np.abs(x - prev)
    local = (
        pd.Series(d1[idx])
        .groupby(group[idx])
        .transform(lambda s: s.rolling(25, center=True, min_periods=5).mean())
        .to_numpy()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        big = (
            (d1[idx] / np.abs(prev[idx]) > float(params["ismn.break_relative"]))
            & (d1[idx] > float(params["ismn.break_absolute"]))
            & (d1[idx] > float(params["ismn.break_derivative_factor"]) * local)
            & close[idx]
        )
    not_spike = ~spike[idx] & ~_shift(spike, 1, False)[idx]
    falling = idx[big & not_spike & (x[idx] < prev[idx])]
    rising = idx[big & not_spike & (x[idx] > prev[idx])]
    flags[falling] |= FLAGS["D07"]
    flags[rising] |= FLAGS["D08"]
    # Plateaus after a break (rare events: a loop over them is cheap).
    window_h = float(params["ismn.plateau_hours"])
    limit = float(params["ismn.plateau_relative_variance"])
    for events, code in ((falling, "D09"), (rising, "D10")):
        for i in events:
            j = i
            while j + 1 < len(x) and group[j + 1] == group[i] and hours[j + 1] - hours[i] <= window_h:
                j += 1
            window = x[i : j + 1]
            if len(window) < 3 or not np.isfinite(window).all():
                continue
            relvar = np.var(window) / max(np.mean(window) ** 2, 1e-12)
            if relvar >= limit:
                continue
            if code == "D10":
                series_max = np.nanmax(x[group == group[i]])
                if np.mean(window) < 0.95 * series_max:
                    continue
            flags[i : j + 1] |= FLAGS[code]


def _frozen_soil(flags, sensor, variable, t_ns, x) -> None:
    soil_t = variable == "soil_temp_c"
    moist = variable == MOISTURE
    if not (soil_t.any() and moist.any()):
        return
    frozen = pd.MultiIndex.from_arrays([sensor[soil_t & (x < 0)], t_ns[soil_t & (x < 0)]])
    if len(frozen) == 0:
        return
    rows = np.flatnonzero(moist)
    hit = pd.MultiIndex.from_arrays([sensor[rows], t_ns[rows]]).isin(frozen)
    flags[rows[hit]] |= FLAGS["D01"]


def _persistence(flags, variable, x, same_prev, group, hours, meta, params) -> None:
    with np.errstate(invalid="ignore"):
        equal = same_prev & (x == _shift(x, 1, np.nan))
    run = np.cumsum(~equal)
    start_h = pd.Series(hours).groupby(run).transform("first").to_numpy()
    end_h = pd.Series(hours).groupby(run).transform("last").to_numpy()
    duration = end_h - start_h
    depth = meta["depth_m"]
    shallow = np.isfinite(depth) & (depth <= float(params["persist.shallow_depth"]))
    limit = np.full(len(x), float(params["persist.hours_deep"]))
    limit[(variable == MOISTURE) & shallow] = float(params["persist.hours_shallow"])
    limit[(variable == "soil_temp_c") & shallow] = float(params["persist.hours_shallow"])
    limit[np.isin(variable, AIR)] = float(params["persist.hours_air"])
    limit[np.isin(variable, NO_PERSIST)] = np.inf
    rh_sat = (variable == "rh_pct") & (x >= float(params["persist.rh_saturated"]))
    flat = (duration >= limit) & np.isfinite(x) & ~rh_sat
    flags[flat] |= FLAGS["PERSIST"]


def _time_zone(flags, sensor, variable, t_ns, x, meta, params) -> None:
    """TZ: per sensor and day, the irradiance-weighted (circular) mean solar time should be near noon."""
    rows = (variable == "ghi_w_m2") & np.isfinite(x) & (x > 5.0) & np.isfinite(meta["lon"])
    if rows.sum() < 4:
        return
    hours_utc = t_ns / 3.6e12
    lon = meta["lon"]
    # Solar clock from UTC and longitude (equation of time is < 0.3 h and ignored here).
    solar = hours_utc[rows] + lon[rows] / 15.0
    day = np.floor(solar / 24.0).astype(np.int64)
    angle = 2 * np.pi * (solar % 24.0) / 24.0
    w = x[rows]
    frame = pd.DataFrame(
        {"sensor": sensor[rows], "day": day, "s": w * np.sin(angle), "c": w * np.cos(angle), "n": 1}
    )
    per_day = frame.groupby(["sensor", "day"], sort=True).sum()
    centre_h = (np.arctan2(per_day["s"], per_day["c"]) * 24.0 / (2 * np.pi)) % 24.0
    offset = (centre_h - 12.0).where(per_day["n"] >= 4)
    median = offset.groupby(level="sensor").transform(
        lambda s: s.droplevel(0).rolling(7, center=True, min_periods=1).median().to_numpy()
    )
    bad = median.abs() >= float(params["tz.max_offset_h"])
    bad_days = set(per_day.index[bad.to_numpy()])
    if not bad_days:
        return
    candidates = np.flatnonzero(np.isin(sensor, list({s for s, _ in bad_days})) & np.isfinite(lon))
    all_day = np.floor((hours_utc[candidates] + lon[candidates] / 15.0) / 24.0).astype(np.int64)
    hit = pd.MultiIndex.from_arrays([sensor[candidates], all_day]).isin(list(bad_days))
    flags[candidates[hit]] |= FLAGS["TZ"]
