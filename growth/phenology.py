"""Citrus phenology as a chain of threshold models on daily series: induction, bud break, bloom, flushes,
petal fall, fruit stages, colour break and harvest maturity.

Every function works on arrays with time on axis 0 and any other axes (usually ``plot``) after it, and
returns day indices (−1 = not reached in the series) or daily flags. Sources: science notes sections 2 and 4
(UF/IFAS Citrus Flowering Monitor System; Ritenour & Alferez 2020; TSS/TA ratio standards).
"""

from __future__ import annotations

import numpy as np

__all__ = ["STAGES", "colour_break_index", "cool_night_sum", "cumsum_days", "first_index", "flush_active",
           "flush_age", "flush_cohorts", "induction_hours", "maturity_index", "running_mean", "stage_codes",
           "thermal_time_since", "warm_spell_trigger"]

#: Stage codes of the ``stage`` output (CF flag_values / flag_meanings).
STAGES = {
    0: "dormant_induction",
    1: "bud_break_flush",
    2: "bloom",
    3: "fruit_set_stage_I",
    4: "fruit_stage_II_expansion",
    5: "fruit_stage_III_maturation",
    6: "harvest_mature",
}

NOT_REACHED = -1


def cumsum_days(values) -> np.ndarray:
    """Cumulative sum along axis 0 (time), equal bit for bit to ``np.cumsum(values, axis=0)``.

    numpy accumulates a (time, plot) array column by column, striding through memory; adding whole days
    (rows) in order does the same additions in the same order 2-3x faster on thousands of plots, and the
    growth members spend a quarter of their time in these sums.
    """
    values = np.asarray(values)
    if values.ndim < 2 or values.shape[0] < 2 or values[0].size < 64:
        return np.cumsum(values, axis=0)
    out = np.empty(values.shape, dtype=np.cumsum(values[:1], axis=0).dtype)
    out[0] = values[0]
    for day in range(1, values.shape[0]):
        np.add(out[day - 1], values[day], out=out[day])
    return out


def first_index(condition) -> np.ndarray:
    """Index along axis 0 of the first True, or −1 where there is none."""
    condition = np.asarray(condition, dtype=bool)
    index = np.argmax(condition, axis=0)
    return np.where(condition.any(axis=0), index, NOT_REACHED)


def _after(index, n_time: int) -> np.ndarray:
    """Daily flag (time, ...): True on and after ``index`` (never where index is −1)."""
    index = np.asarray(index)
    days = np.arange(n_time).reshape((n_time,) + (1,) * index.ndim)
    return (index >= 0) & (days >= index)


def thermal_time_since(gdd_c_d, start_index) -> np.ndarray:
    """Thermal time accumulated from a start day (inclusive); NaN before it or where it is never reached.

    Parameters
    ----------
    gdd_c_d : array_like, shape (time, ...)
        Daily thermal time [°C·d].
    start_index : array_like of int, shape (...)
        Start day per column (−1 = none).

    Returns
    -------
    numpy.ndarray, shape (time, ...)
        Accumulated thermal time [°C·d].
    """
    gdd = np.nan_to_num(np.asarray(gdd_c_d, dtype=float))
    started = _after(start_index, gdd.shape[0])
    return np.where(started, cumsum_days(np.where(started, gdd, 0.0)), np.nan)


def induction_hours(hours_below_per_day, start_index) -> np.ndarray:
    """Cumulative flower-bud induction hours (hours below 20 °C) from the induction start day.

    Albrigo, UF/IFAS Citrus Flowering Monitor System: accumulate hours below 68 °F (20 °C) from when cool
    weather stops growth; 750–1000 h are sufficient.

    Parameters
    ----------
    hours_below_per_day : array_like, shape (time, ...)
        Hours below the threshold on each day [h] (see ``growth.thermal.hours_below``).
    start_index : array_like of int
        Day on which accumulation starts (−1 = outside the series: nothing accumulates).

    Returns
    -------
    numpy.ndarray
        Cumulative induction hours [h] (0 before the start).
    """
    hours = np.nan_to_num(np.asarray(hours_below_per_day, dtype=float))
    started = _after(start_index, hours.shape[0])
    return cumsum_days(np.where(started, hours, 0.0))


def warm_spell_trigger(tmax_c, induction_h, required_h, trigger_tmax_c=24.0, trigger_days=7) -> np.ndarray:
    """Day on which a warm spell triggers bud growth after sufficient induction (CFMS rule).

    The trigger is the last day of the first run of ``trigger_days`` consecutive days with Tmax ≥
    ``trigger_tmax_c`` that lies entirely after induction has reached ``required_h`` (Albrigo, CFMS:
    7–12 days with Tmax above 24–27 °C).

    Parameters
    ----------
    tmax_c : array_like, shape (time, ...)
        Daily maximum temperature [°C].
    induction_h : array_like, shape (time, ...)
        Cumulative induction hours [h].
    required_h : array_like
        Induction hours required [h].
    trigger_tmax_c : float
        Tmax of a warm day [°C].
    trigger_days : int
        Length of the warm spell [d].

    Returns
    -------
    numpy.ndarray of int
        Trigger day index per column, −1 if none.
    """
    tmax = np.asarray(tmax_c, dtype=float)
    days = int(trigger_days)
    with np.errstate(invalid="ignore"):
        warm = (tmax >= trigger_tmax_c) & (np.asarray(induction_h) >= required_h)
    # run length of warm days ending on each day, via the cumulative count at the last cool day
    count = cumsum_days(warm)
    last_reset = np.maximum.accumulate(np.where(~warm, count, 0), axis=0)
    run = count - last_reset
    return first_index(run >= days)


def flush_active(gdd_c_d, doy, spring_index, interval_gdd, duration_days, last_start_doy, max_flushes=8):
    """Flush cohorts and the days on which young (susceptible) flush is present.

    The spring flush starts at bud break; later flushes start each time ``interval_gdd`` more thermal time
    has accumulated since the previous one, until ``last_start_doy``; each stays young ``duration_days``
    (science notes section 2.3: summer and autumn flushes every ~45–60 days in warm months).

    Parameters
    ----------
    gdd_c_d : array_like, shape (time, ...)
        Daily thermal time [°C·d].
    doy : array_like, shape (time,)
        Day of year of each day.
    spring_index : array_like of int
        Day index of the spring flush (bud break), −1 = none.
    interval_gdd, duration_days, last_start_doy : array_like
        Flush parameters (per column).
    max_flushes : int
        Most flush cohorts per season.

    Returns
    -------
    active : numpy.ndarray of bool, shape (time, ...)
        Young flush present.
    starts : numpy.ndarray of int, shape (max_flushes, ...)
        Start day of each cohort, −1 where it does not happen.
    """
    gdd = np.asarray(gdd_c_d, dtype=float)
    n_time = gdd.shape[0]
    spring_index = np.asarray(spring_index)
    since = thermal_time_since(gdd, spring_index)
    doy = np.asarray(doy).reshape((n_time,) + (1,) * spring_index.ndim)
    day = np.arange(n_time).reshape(doy.shape)
    starts = np.full((max_flushes,) + spring_index.shape, NOT_REACHED)
    starts[0] = spring_index
    active = np.zeros(gdd.shape, dtype=bool)
    for k in range(max_flushes):
        if k > 0:
            # a later flush in the same season (before the next season's spring, i.e. within a year)
            reached = (since >= k * interval_gdd) & (doy <= last_start_doy) & (day < spring_index + 365)
            starts[k] = np.where(starts[k - 1] >= 0, first_index(reached), NOT_REACHED)
        start = starts[k]
        active |= (start >= 0) & (day >= start) & (day < start + duration_days)
    return active, starts


def flush_cohorts(gdd_c_d, doy, spring_index, *, interval_gdd, summer_flushes, autumn_start_doy,
                  last_start_doy, young=False):
    """Start days of the season's vegetative flush cohorts, tied to spring bud break.

    Bearing trees (Chinese practice; science notes decisions.md section 4.1): the spring flush emerges at
    bud break (about March); ``summer_flushes`` summer cohorts follow, each ``interval_gdd`` of thermal time
    after the previous one started (mid-May to June at Tb 13 °C); the autumn flush is released on the first
    day on or after ``autumn_start_doy`` (growers release one uniform autumn flush in early August). Young
    trees (``young``) grow two more cohorts: a second summer flush and a late-autumn flush, each
    ``interval_gdd`` after the previous one. No cohort starts before the spring flush, more than 300 days
    after it, or after ``last_start_doy``, so none starts between November and February.

    Parameters
    ----------
    gdd_c_d : array_like, shape (time, ...)
        Daily thermal time [°C·d].
    doy : array_like, shape (time,)
        Day of year of each day.
    spring_index : array_like of int, shape (...)
        Day index of spring bud break, −1 = none.
    interval_gdd : array_like
        Thermal time between the starts of successive summer (and young-tree) cohorts [°C·d].
    summer_flushes : int
        Summer cohorts of a bearing tree (0–2).
    autumn_start_doy, last_start_doy : array_like
        Day of year from which the autumn flush is released, and after which no cohort starts.
    young : array_like of bool, shape (...)
        Young (non-bearing) trees.

    Returns
    -------
    numpy.ndarray of int, shape (cohorts, ...)
        Start day of each possible cohort (spring, summer…, young summer, autumn, young late autumn),
        −1 where it does not happen.
    """
    gdd = np.nan_to_num(np.asarray(gdd_c_d, dtype=float))
    n_time = gdd.shape[0]
    spring = np.asarray(spring_index)
    shape = (n_time,) + (1,) * spring.ndim
    doy = np.asarray(doy).reshape(shape)
    day = np.arange(n_time).reshape(shape)
    cumulative = cumsum_days(gdd)
    young = np.broadcast_to(np.asarray(young, dtype=bool), spring.shape)
    in_season = (spring >= 0) & (day >= spring) & (day < spring + 300) & (doy <= last_start_doy)
    before_autumn = doy < autumn_start_doy

    def after(previous, allowed):
        base = np.take_along_axis(cumulative, np.maximum(previous, 0)[None, ...], axis=0)[0]
        with np.errstate(invalid="ignore"):
            ok = in_season & allowed & (day > previous) & (cumulative - base >= interval_gdd)
        return np.where(previous >= 0, first_index(ok), NOT_REACHED)

    starts = [np.where(spring >= 0, spring, NOT_REACHED)]
    for _ in range(int(summer_flushes)):
        starts.append(after(starts[-1], before_autumn))
    starts.append(np.where(young, after(np.max(np.stack(starts), axis=0), before_autumn), NOT_REACHED))
    last = np.max(np.stack(starts), axis=0)
    starts.append(first_index(in_season & (doy >= autumn_start_doy) & (day > last)))
    starts.append(np.where(young, after(starts[-1], True), NOT_REACHED))
    return np.stack(starts)


def flush_age(starts, n_time: int, duration_days):
    """Days since the current flush cohort emerged, NaN where no cohort is young, and the daily flag.

    A cohort stays young (soft leaves: the host of canker and leaf miner) ``duration_days`` after it
    emerges; where two cohorts overlap the younger one counts.

    Parameters
    ----------
    starts : array_like of int, shape (cohorts, ...)
        Start days (−1 = none), from :func:`flush_cohorts`.
    n_time : int
        Days in the series.
    duration_days : array_like, shape (...) or (cohorts, ...)
        Days each cohort stays young [d].

    Returns
    -------
    age : numpy.ndarray, shape (time, ...)
        Days since emergence of the youngest active cohort [d], NaN where none.
    active : numpy.ndarray of bool, shape (time, ...)
    """
    starts = np.asarray(starts)
    duration = np.broadcast_to(np.asarray(duration_days, dtype=float), starts.shape)
    day = np.arange(n_time).reshape((n_time,) + (1,) * (starts.ndim - 1))
    age = np.full((n_time,) + starts.shape[1:], np.nan)
    for k in range(starts.shape[0]):
        start = starts[k]
        on = (start >= 0) & (day >= start) & (day < start + duration[k])
        age = np.where(on, (day - start).astype(float), age)  # later cohorts overwrite: the younger wins
    return age, ~np.isnan(age)


def cool_night_sum(tmin_c, start_index, night_temperature_c=12.8) -> np.ndarray:
    """Sum of ``max(0, Tc − Tmin)`` from a start day: the colour-break clock (science notes section 4.2).

    Oranges lose peel chlorophyll when night temperatures fall below 12.8 °C (55 °F) (Ritenour & Alferez
    2020, *Citrus Industry*); the colour index grows with each cool night.
    """
    tmin = np.asarray(tmin_c, dtype=float)
    cool = np.nan_to_num(np.maximum(night_temperature_c - tmin, 0.0))
    started = _after(start_index, tmin.shape[0])
    return np.where(started, cumsum_days(np.where(started, cool, 0.0)), np.nan)


def colour_break_index(tmin_c, start_index, night_temperature_c, required_c_d) -> np.ndarray:
    """Day of colour break: the cool-night sum since ``start_index`` (stage III) reaches the requirement."""
    with np.errstate(invalid="ignore"):
        return first_index(cool_night_sum(tmin_c, start_index, night_temperature_c) >= required_c_d)


def running_mean(values, days: int = 7) -> np.ndarray:
    """Trailing mean over the last ``days`` days along axis 0, of the values that are not NaN (NaN where the
    day's own value is NaN)."""
    x = np.asarray(values, dtype=float)
    valid = ~np.isnan(x)
    if valid.all():  # the usual case: the count is the window length, no second sum needed
        total = cumsum_days(x)
        total[days:] = total[days:] - total[:-days]
        count = np.minimum(np.arange(1, x.shape[0] + 1), days).reshape((-1,) + (1,) * (x.ndim - 1))
        return total / count
    total = cumsum_days(np.where(valid, x, 0.0))
    count = cumsum_days(valid).astype(float)
    total[days:] = total[days:] - total[:-days].copy()
    count[days:] = count[days:] - count[:-days].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, total / np.maximum(count, 1.0), np.nan)


def maturity_index(ratio, tss_brix, start_index, ratio_required, tss_required, *, bloom_index=None,
                   min_days_after_bloom=0, acid_pct=None, acid_max_pct=np.inf, window_days=1) -> np.ndarray:
    """Day of harvest maturity: TSS/TA ≥ R*, TSS ≥ S* (and TA ≤ TA*) on or after ``start_index`` (fruit
    stage III) and at least ``min_days_after_bloom`` after full bloom, each on a ``window_days`` trailing
    mean.

    Standards: navel harvest maturity TSS ≥ 11 %, TA ≤ 0.9 % (T/HNSGJXH 0009-2022); ratio standards
    California ≥ 8 (fresh), Florida processing from 13, Brazil 12–13 (Volpe, Schöffel & Barbosa 2000/2002).
    The minimum fruit age keeps the decision off the summer part of the ratio curve (Midknight Valencia is
    harvested 360–400 d after flowering: Li et al. 2023, *Sci. Technol. Food Ind.* 44(19):390–400).
    """
    ratio = running_mean(ratio, window_days) if window_days > 1 else np.asarray(ratio, dtype=float)
    tss = running_mean(tss_brix, window_days) if window_days > 1 else np.asarray(tss_brix, dtype=float)
    started = _after(start_index, ratio.shape[0])
    if bloom_index is not None:
        bloom_index = np.asarray(bloom_index)
        earliest = bloom_index + np.asarray(min_days_after_bloom, dtype=int)
        started &= _after(np.where(bloom_index >= 0, earliest, NOT_REACHED), ratio.shape[0])
    with np.errstate(invalid="ignore"):
        ok = started & (ratio >= ratio_required) & (tss >= tss_required)
        if acid_pct is not None:
            acid = running_mean(acid_pct, window_days) if window_days > 1 else np.asarray(acid_pct)
            ok &= acid <= acid_max_pct
        return first_index(ok)


def stage_codes(n_time: int, bud_break, bloom, petal_fall, cell_division_end, stage3, maturity) -> np.ndarray:
    """Daily stage code (see :data:`STAGES`) from the stage start days (−1 = not reached)."""
    stage = np.zeros((n_time,) + np.shape(bud_break), dtype=np.int8)
    for code, start in ((1, bud_break), (2, bloom), (3, petal_fall), (4, cell_division_end), (5, stage3),
                        (6, maturity)):
        stage = np.where(_after(start, n_time), np.int8(code), stage)
    return stage
