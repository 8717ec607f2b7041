"""Daily degree-days: simple average, modified (clipped), single/double sine, single/double triangle.

Every method is written with one idea: a day's degree-days are the mean over the day of the development
rate ``r(T) = clip(T, TL, TU) − TL`` (horizontal cut-off), and the daily temperature curve decides how
temperatures are distributed over the day. A sine between Tmin and Tmax (Baskerville & Emin 1969, *Ecology*
50:514) and a triangle (Sevacherian et al. 1977, *J. Econ. Entomol.* 70:399) both give closed forms through

    g(a) = mean over the day of max(0, T − a)

so that the horizontal cut-off is ``g(TL) − g(TU)``, the vertical cut-off subtracts ``(TU − TL)·P(T > TU)``
(no development while T > TU) and the intermediate cut-off subtracts ``g(TU)`` once more (development
declines above TU, Roltsch et al. 1999, *Int. J. Biometeorol.* 42:169; never below 0). These reproduce the
UC IPM case formulas (science note pests §1) and are validated against Zalom et al. 1983 (UC DANR Leaflet
21373) Table 7 and McMaster & Wilhelm 1997 (*Agric. For. Meteorol.* 87:291) Table 1 in the tests.

Double sine / double triangle average two half-days: (Tmin, Tmax) and (Tmin of the next day, Tmax).

USPEST: "a model is only valid with degree-days computed using that calculation method", so every pest
parameter table names its method and cut-off.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from orchard.errors import InputError

__all__ = ["METHODS", "CUTOFFS", "degree_days", "cumulative_degree_days"]

METHODS = ("simple", "modified", "single_sine", "double_sine", "single_triangle", "double_triangle")
CUTOFFS = ("horizontal", "vertical", "intermediate")


def _g_sine(mean, half_range, a):
    """Mean over a sine day of max(0, T − a) and the fraction of the day with T > a.

    Days wholly above or below ``a`` need no trigonometry (most days, for a lower threshold in summer or an
    upper one in winter); the arcsine is taken only on the days the curve crosses ``a``.
    """
    mean, half, a = np.broadcast_arrays(mean, half_range, a)
    finite = np.isfinite(a)
    above = finite & (a <= mean - half)
    g = np.where(above, mean - a, 0.0)
    frac = np.where(above, 1.0, 0.0).astype(g.dtype, copy=False)
    cross = finite & (a > mean - half) & (a < mean + half) & (half > 0)
    if cross.any():
        m, h, threshold = mean[cross], half[cross], a[cross]
        theta = np.arcsin((threshold - m) / h)
        g[cross] = ((m - threshold) * (np.pi / 2 - theta) + h * np.cos(theta)) / np.pi
        frac[cross] = (np.pi / 2 - theta) / np.pi
    missing = np.isnan(mean) | np.isnan(half)
    if missing.any():
        g[missing] = np.nan
        frac[missing] = np.nan
    return np.maximum(g, 0.0), frac


def _g_triangle(tmin, tmax, a):
    """Mean over a triangle day (T uniform on [Tmin, Tmax]) of max(0, T − a), and the fraction T > a."""
    a_inf = np.isinf(a)
    a = np.where(a_inf, 0.0, a)
    span = tmax - tmin
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = (tmax - a) ** 2 / (2.0 * np.where(span > 0, span, 1.0))
        frac_in = (tmax - a) / np.where(span > 0, span, 1.0)
    mean = (tmin + tmax) / 2.0
    g = np.where(a <= tmin, mean - a, np.where(a >= tmax, 0.0, inside))
    frac = np.where(a <= tmin, 1.0, np.where(a >= tmax, 0.0, frac_in))
    g = np.where(a_inf, 0.0, g)
    frac = np.where(a_inf, 0.0, frac)
    return np.maximum(g, 0.0), frac


def _one_curve(tmin, tmax, lower, upper, shape, cutoff):
    if shape == "sine":
        mean, half = (tmax + tmin) / 2.0, (tmax - tmin) / 2.0
        g_lo, _ = _g_sine(mean, half, lower)
        g_hi, p_hi = _g_sine(mean, half, upper)
    else:
        g_lo, _ = _g_triangle(tmin, tmax, lower)
        g_hi, p_hi = _g_triangle(tmin, tmax, upper)
    dd = g_lo - g_hi
    if cutoff == "vertical":
        span = np.where(np.isinf(upper), 0.0, np.where(np.isinf(upper), 0.0, upper) - lower)
        dd = dd - span * p_hi
    elif cutoff == "intermediate":
        dd = dd - g_hi
    return np.maximum(dd, 0.0)


def _simple(tmin, tmax, lower, upper, cutoff):
    mean = (tmin + tmax) / 2.0
    dd = np.clip(mean, lower, upper) - lower
    if cutoff == "vertical":
        dd = np.where(mean > upper, 0.0, dd)
    elif cutoff == "intermediate":
        dd = np.where(mean > upper, np.maximum(0.0, (upper - lower) - (mean - upper)), dd)
    return dd


def degree_days(tmin, tmax, lower, upper=None, method="single_sine", cutoff="horizontal", tmin_next=None):
    """Degree-days of each day [°C·d] (or [°F·d] when temperatures are in °F).

    Parameters
    ----------
    tmin, tmax : array-like or xarray.DataArray
        Daily minimum and maximum air temperature [°C]. Broadcast together (e.g. dims (time, plot)).
    lower : float or array-like
        Lower development threshold TL [°C].
    upper : float or array-like, optional
        Upper threshold TU [°C]; None means no upper threshold (no cut-off).
    method : {"simple", "modified", "single_sine", "double_sine", "single_triangle", "double_triangle"}
        ``simple``: max(0, (Tmax + Tmin)/2 − TL), the mean capped at TU (McMaster & Wilhelm method 1);
        ``modified``: Tmax and Tmin clipped to [TL, TU] before averaging (McMaster & Wilhelm method 2; the
        cut-off argument is ignored); sine and triangle methods as in the module docstring.
    cutoff : {"horizontal", "vertical", "intermediate"}
    tmin_next : array-like, optional
        Next day's minimum temperature, for the double methods. When omitted, ``tmin`` shifted by one step
        along its ``time`` dimension (xarray) or its first axis (numpy) is used, the last day reusing its own.

    Returns
    -------
    numpy.ndarray or xarray.DataArray [°C·d], same shape as the broadcast inputs; NaN where an input is NaN.

    Raises
    ------
    InputError
        Unknown method or cut-off, upper ≤ lower, or Tmax below Tmin.
    """
    if method not in METHODS:
        raise InputError(f"unknown degree-day method '{method}'; use one of {', '.join(METHODS)}.")
    if cutoff not in CUTOFFS:
        raise InputError(f"unknown degree-day cut-off '{cutoff}'; use one of {', '.join(CUTOFFS)}.")
    is_xr = isinstance(tmin, xr.DataArray) or isinstance(tmax, xr.DataArray)
    if is_xr:
        tmin_x, tmax_x = xr.broadcast(
            xr.DataArray(tmin) if not isinstance(tmin, xr.DataArray) else tmin,
            xr.DataArray(tmax) if not isinstance(tmax, xr.DataArray) else tmax,
        )
        if method.startswith("double") and tmin_next is None:
            if "time" in tmin_x.dims:
                tmin_next = tmin_x.shift(time=-1).fillna(tmin_x)
            else:
                raise InputError("double methods need tmin_next or a 'time' dimension to take it from.")
        if tmin_next is not None:
            tmin_next = xr.DataArray(tmin_next) if not isinstance(tmin_next, xr.DataArray) else tmin_next
            tmin_next = tmin_next.broadcast_like(tmin_x).transpose(*tmin_x.dims).values
        values = _degree_days_np(tmin_x.values, tmax_x.values, lower, upper, method, cutoff, tmin_next)
        return xr.DataArray(
            values,
            dims=tmin_x.dims,
            coords=tmin_x.coords,
            attrs={
                "units": "degC d",
                "long_name": f"degree-days above {lower} degC",
                "method": method,
                "cutoff": cutoff,
                "upper_threshold": "none" if upper is None else float(np.max(upper)),
            },
        )
    tmin_a, tmax_a = np.broadcast_arrays(np.asarray(tmin, float), np.asarray(tmax, float))
    if method.startswith("double") and tmin_next is None:
        if tmin_a.ndim == 0:
            tmin_next = tmin_a
        else:
            tmin_next = np.concatenate([tmin_a[1:], tmin_a[-1:]], axis=0)
    return _degree_days_np(tmin_a, tmax_a, lower, upper, method, cutoff, tmin_next)


def _degree_days_np(tmin, tmax, lower, upper, method, cutoff, tmin_next):
    # keep float32 inputs float32; scalar thresholds stay Python floats so they do not upcast (NEP 50)
    tmin = np.asarray(tmin) if np.asarray(tmin).dtype == np.float32 else np.asarray(tmin, float)
    tmax = np.asarray(tmax, tmin.dtype)
    lower = float(lower) if np.ndim(lower) == 0 else np.asarray(lower, float)
    upper = np.inf if upper is None else upper
    upper = float(upper) if np.ndim(upper) == 0 else np.asarray(upper, float)
    if np.any(upper <= lower):
        raise InputError(
            f"the upper threshold ({np.min(upper):g}) must be above the lower one "
            f"({np.max(lower):g}); fix the pest's degree-day parameters."
        )
    with np.errstate(invalid="ignore"):
        bad = tmax < tmin
    if np.any(bad):
        raise InputError(
            f"Tmax is below Tmin on {int(bad.sum())} values; check the weather (swapped columns?) "
            "or run orchard.weather.qc first."
        )
    if method == "simple":
        return _simple(tmin, tmax, lower, upper, cutoff)
    if method == "modified":
        return (np.clip(tmax, lower, upper) + np.clip(tmin, lower, upper)) / 2.0 - lower
    shape = "sine" if method.endswith("sine") else "triangle"
    first = _one_curve(tmin, tmax, lower, upper, shape, cutoff)
    if method.startswith("single"):
        return first
    tmin_next = np.asarray(tmin_next, tmin.dtype)
    # the second half-day falls from today's Tmax to tomorrow's Tmin; a lower Tmax than that (a cold front)
    # is treated as a flat half-day at the higher value
    second = _one_curve(np.minimum(tmin_next, tmax), np.maximum(tmin_next, tmax), lower, upper, shape, cutoff)
    return (first + second) / 2.0


def cumulative_degree_days(dd, axis: int = 0, start=None):
    """Running sum of daily degree-days along ``axis`` [°C·d], NaN days counting as 0.

    ``start`` (broadcastable to one time slice) is the sum carried in from before the first day.
    """
    total = np.nancumsum(np.asarray(dd, float), axis=axis)
    if start is not None:
        total = total + np.expand_dims(np.asarray(start, float), axis) if np.ndim(start) else total + start
    return total
