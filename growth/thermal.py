"""Thermal time and temperature counters for citrus: the clock that drives every growth process.

Pure functions on numpy arrays (any shape; time first where a function accumulates). Temperatures in °C,
thermal time in °C·d.
"""

from __future__ import annotations

import numpy as np

from orchard.errors import ParameterError

__all__ = ["GDD_METHODS", "heat_stress_days", "hours_below", "hours_between_sine", "thermal_time"]

#: The three AquaCrop thermal-time variants (FAO AquaCrop reference manual, pp. 19–20; AquaCrop-OS
#: ``AOS_GrowingDegreeDay``): 1 clips the daily mean, 2 clips Tmax and Tmin, 3 clips Tmax and only the top
#: of Tmin.
GDD_METHODS = (1, 2, 3)


def thermal_time(tmin_c, tmax_c, base_c=13.0, upper_c=35.0, method=1):
    """Daily thermal time (growing degree-days) above a base temperature, capped at an upper one.

    Method 1: ``min(max(Tmean, Tb), Tu) − Tb`` with ``Tmean = (Tmax + Tmin)/2``.
    Method 2: Tmax and Tmin each clipped to [Tb, Tu], then averaged, minus Tb.
    Method 3: Tmax clipped to [Tb, Tu], Tmin only to ≤ Tu; the mean is clipped to ≥ Tb, minus Tb.

    Citrus defaults: Tb 13 °C, Tu 35 °C (Abdel-Sattar, Al-Obeed & Aboukarima 2024, *Horticulturae* 10:712,
    with Tmax above 35 °C set to 35 °C and negative values not used; NSW DPI Primefact 749, 2007).

    Parameters
    ----------
    tmin_c, tmax_c : array_like
        Daily minimum and maximum air temperature [°C].
    base_c, upper_c : float or array_like
        Base and upper temperature [°C] (arrays broadcast, e.g. one value per plot).
    method : {1, 2, 3}
        AquaCrop variant (FAO AquaCrop reference manual, pp. 19–20).

    Returns
    -------
    numpy.ndarray
        Thermal time of each day [°C·d], ≥ 0; NaN where a temperature is missing.
    """
    tmin = np.asarray(tmin_c, dtype=float)
    tmax = np.asarray(tmax_c, dtype=float)
    base = np.asarray(base_c, dtype=float)
    upper = np.asarray(upper_c, dtype=float)
    if method == 1:
        mean = np.clip((tmax + tmin) / 2.0, base, upper)
    elif method == 2:
        mean = (np.clip(tmax, base, upper) + np.clip(tmin, base, upper)) / 2.0
    elif method == 3:
        mean = np.maximum((np.clip(tmax, base, upper) + np.minimum(tmin, upper)) / 2.0, base)
    else:
        raise ParameterError(f"thermal-time method {method!r} is not one of 1, 2, 3 (the AquaCrop variants).")
    return mean - base


def hours_below(t_hourly_c, threshold_c=20.0, axis=-1):
    """Number of hours with temperature below a threshold, e.g. flower-bud induction hours.

    Citrus flower-bud induction accumulates hours below 20 °C (68 °F); 750–1000 h are sufficient (Albrigo,
    UF/IFAS Citrus Flowering Monitor System, 2003–2019).

    Parameters
    ----------
    t_hourly_c : array_like
        Hourly temperatures [°C]; ``axis`` holds the hours to count (e.g. shape (day, 24, plot), axis=1).
    threshold_c : float
        Threshold [°C]; an hour counts when strictly below it.
    axis : int
        The axis of hours.

    Returns
    -------
    numpy.ndarray
        Hours below the threshold [h]; missing hours count as not below.
    """
    t = np.asarray(t_hourly_c)
    if not np.issubdtype(t.dtype, np.floating):
        t = t.astype(float)
    # compare in the temperatures' own precision (the model's float32 hours stay float32)
    threshold = np.asarray(threshold_c, dtype=t.dtype)
    with np.errstate(invalid="ignore"):
        return np.count_nonzero(t < threshold, axis=axis).astype(float)


def heat_stress_days(tmin_c, tmax_c, tmax_limit_c=35.0, tmean_limit_c=30.0, tmin_limit_c=24.0):
    """Flags of heat-stress days during fruit expansion (1 = stress day).

    Days with Tmax ≥ 35 °C, Tmean ≥ 30 °C or Tmin ≥ 24 °C during fruit expansion lower the TSS/TA ratio,
    fruit weight and vitamin C of Newhall navel oranges (Li et al. 2022, *Chin. J. Ecol.* 41(12):2489–2496).

    Returns
    -------
    numpy.ndarray of float
        1.0 on a day that passes any limit, else 0.0.
    """
    tmin = np.asarray(tmin_c, dtype=float)
    tmax = np.asarray(tmax_c, dtype=float)
    with np.errstate(invalid="ignore"):
        hot = (tmax >= tmax_limit_c) | ((tmin + tmax) / 2.0 >= tmean_limit_c) | (tmin >= tmin_limit_c)
    return hot.astype(float)


def hours_between_sine(tmin_c, tmax_c, low_c, high_c):
    """Hours of a day with the temperature in [low, high), the day a sine wave between Tmin and Tmax.

    The fraction of a sine period below x is ``0.5 + arcsin((x − m)/a)/π`` (m the mean, a the half range),
    so the hours between two thresholds need no hourly reconstruction: the cheap daily form used for the
    flower-induction band of 11–15 °C (Valiente & Albrigo 2004, *J. Am. Soc. Hort. Sci.* 129(2):158–164).

    Parameters
    ----------
    tmin_c, tmax_c : array_like
        Daily minimum and maximum temperature [°C].
    low_c, high_c : float or array_like
        Band limits [°C].

    Returns
    -------
    numpy.ndarray
        Hours in the band [h], 0–24; NaN where a temperature is missing.
    """
    tmin = np.asarray(tmin_c, dtype=float)
    tmax = np.asarray(tmax_c, dtype=float)
    mean = (tmax + tmin) / 2.0
    half = np.maximum((tmax - tmin) / 2.0, 1e-6)

    def below(x):
        return 0.5 + np.arcsin(np.clip((x - mean) / half, -1.0, 1.0)) / np.pi

    return 24.0 * (below(high_c) - below(low_c))
