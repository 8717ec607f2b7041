"""Fruit size and internal quality: diameter, expansion rate, volume, sugar (TSS), acid (TA) and their ratio.

Pure functions on numpy arrays; thermal time τ in °C·d since full bloom. Sources: science notes sections 3.2
and 4.1 (four-parameter logistic diameter: Bellamy, navel orange; TSS quadratic, TA decreasing and TSS/TA
rising with degree-days: 'Maturation curves and degree-days accumulation for fruits of Folha Murcha orange
trees', *Scientia Agricola*).
"""

from __future__ import annotations

import numpy as np

__all__ = ["acid_pct", "diameter_logistic", "effective_thermal_time", "expansion_rate", "fruit_volume_cm3",
           "growth_modifier", "tss_brix"]


def diameter_logistic(tau_c_d, d0_mm, dmax_mm, rate_per_c_d, midpoint_c_d):
    """Fruit diameter from the four-parameter logistic in thermal time since full bloom.

    ``D(τ) = D0 + (Dmax − D0) / (1 + exp(−r (τ − τm)))``

    Parameters
    ----------
    tau_c_d : array_like
        Thermal time since full bloom [°C·d] (NaN before bloom gives NaN).
    d0_mm, dmax_mm : array_like
        Lower and upper asymptotes [mm].
    rate_per_c_d : array_like
        Relative rate r [1/(°C·d)].
    midpoint_c_d : array_like
        Thermal time of the inflection τm [°C·d].

    Returns
    -------
    numpy.ndarray
        Equatorial fruit diameter [mm].
    """
    tau = np.asarray(tau_c_d, dtype=float)
    return d0_mm + (dmax_mm - d0_mm) / (1.0 + np.exp(-rate_per_c_d * (tau - midpoint_c_d)))


def growth_modifier(ks=1.0, water_sensitivity=1.0, carbon_ratio=np.inf, sufficient_ratio=1.0):
    """Multiplier (0–1) of the fruit's thermal-time clock from water stress and carbon shortage.

    ``f = max(0, 1 − s (1 − Ks)) · min(1, SD / SD*)`` with Ks the FAO-56 water-stress coefficient and SD the
    carbon supply/demand ratio. Stress slows expansion but never reverses it, so the diameter stays monotone.

    Parameters
    ----------
    ks : array_like
        Water-stress coefficient (1 = no stress) [-].
    water_sensitivity : array_like
        s [-].
    carbon_ratio : array_like
        Supply/demand ratio of carbon (7-day mean) [-].
    sufficient_ratio : array_like
        SD* at and above which carbon does not limit [-].
    """
    water = np.clip(1.0 - np.asarray(water_sensitivity) * (1.0 - np.asarray(ks, dtype=float)), 0.0, 1.0)
    carbon = np.clip(np.asarray(carbon_ratio, dtype=float) / sufficient_ratio, 0.0, 1.0)
    return water * carbon


def effective_thermal_time(gdd_c_d, modifier, started):
    """Thermal time since full bloom, each day's degree-days scaled by the growth modifier.

    Scaling the logistic's rate by a daily factor ``f`` is the same as running the logistic on the
    accumulated ``Σ f·GDD``, which keeps the diameter an exact logistic of an effective clock (no Euler
    error).

    Parameters
    ----------
    gdd_c_d : array_like, shape (time, ...)
        Daily thermal time [°C·d].
    modifier : array_like
        Daily multiplier (0–1), broadcast against ``gdd_c_d``.
    started : array_like of bool, shape (time, ...)
        True from full bloom on.

    Returns
    -------
    numpy.ndarray
        Effective thermal time since full bloom [°C·d]; NaN before bloom.
    """
    daily = np.where(started, np.nan_to_num(np.asarray(gdd_c_d, dtype=float) * modifier), 0.0)
    tau = np.cumsum(daily, axis=0)
    return np.where(started, tau, np.nan)


def expansion_rate(diameter_mm):
    """Daily fruit expansion rate: the day-to-day increase of the diameter [mm/day].

    The first day of a series (and the bloom day) has no previous value and gets NaN / the increase from the
    logistic's starting value respectively; the rate is the exact discrete derivative of the diameter series.
    """
    d = np.asarray(diameter_mm, dtype=float)
    rate = np.full_like(d, np.nan)
    rate[1:] = d[1:] - d[:-1]
    return rate


def fruit_volume_cm3(equatorial_mm, polar_mm=None):
    """Fruit volume from its diameters, ``V = (π/6) D_eq² D_pol`` (a spheroid) [cm³]."""
    d = np.asarray(equatorial_mm, dtype=float)
    polar = d if polar_mm is None else np.asarray(polar_mm, dtype=float)
    return np.pi / 6.0 * d * d * polar / 1000.0


def tss_brix(tau_c_d, intercept, slope, curvature):
    """Total soluble solids (°Brix) as a quadratic in thermal time since full bloom.

    ``TSS = a0 + a1 τ + a2 τ²`` with a2 < 0 (Folha Murcha maturation curves, *Scientia Agricola*); beyond the
    vertex ``τ* = −a1 / (2 a2)`` TSS stays at its maximum instead of falling (the quadratic is a fit over the
    maturation season, not a law for over-ripe fruit).

    Parameters
    ----------
    tau_c_d : array_like
        Quality thermal time since full bloom [°C·d].
    intercept, slope, curvature : array_like
        a0 [°Brix], a1 [°Brix/(°C·d)], a2 [°Brix/(°C·d)²].

    Returns
    -------
    numpy.ndarray
        TSS [°Brix].
    """
    tau = np.asarray(tau_c_d, dtype=float)
    curvature = np.asarray(curvature, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(curvature < 0, -slope / (2.0 * curvature), np.inf)
    tau = np.minimum(tau, vertex)
    return intercept + slope * tau + curvature * tau * tau


def acid_pct(tau_c_d, initial_pct, final_pct, decay_rate):
    """Titratable acidity (% citric acid) falling exponentially with thermal time since full bloom.

    ``TA = TA∞ + (TA0 − TA∞) exp(−k τ)`` (science notes section 4.1; the decreasing branch of the inverse
    quadratic of the Folha Murcha curves, kept monotone).

    Parameters
    ----------
    tau_c_d : array_like
        Quality thermal time since full bloom [°C·d].
    initial_pct, final_pct : array_like
        TA0 and TA∞ [%].
    decay_rate : array_like
        k [1/(°C·d)].

    Returns
    -------
    numpy.ndarray
        TA [%].
    """
    tau = np.asarray(tau_c_d, dtype=float)
    return final_pct + (initial_pct - final_pct) * np.exp(-decay_rate * tau)
