"""Host state for the pest models: flush (young shoots) and fruit susceptibility, per plot and day.

The growth model (through the caller) may pass ``flush_fraction`` [0–1] and ``fruit_susceptible`` [0–1] as
DataArrays (time, plot). Where they are absent (or do not cover a day), the default calendar of the Three
Gorges belt in ``pests/parameters/host.toml`` is used: flushes between the listed start and end days of the
year (ramping up and down over a week), fruit susceptible to black spot for
``black_spot.host.susceptible_days`` from petal fall. The result says which was used in
``host_state_source``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from orchard.errors import InputError

__all__ = ["calendar_flush_fraction", "calendar_fruit_susceptible", "host_arrays"]

_RAMP_DAYS = 7.0


def _doy(times) -> np.ndarray:
    """Day of the year on a non-leap calendar (29 February counts as 59)."""
    index = pd.DatetimeIndex(times)
    doy = index.day_of_year.values.astype(float)
    return np.where(index.is_leap_year & (index.month > 2), doy - 1, doy)


def calendar_flush_fraction(times, start_doy, end_doy) -> np.ndarray:
    """Default flush fraction per day [0–1]: a trapezoid on each (start, end) window, 1-week ramps."""
    doy = _doy(times)
    out = np.zeros(len(doy))
    for s, e in zip(start_doy, end_doy, strict=True):
        up = np.clip((doy - s + 1) / _RAMP_DAYS, 0, 1)
        down = np.clip((e - doy + 1) / _RAMP_DAYS, 0, 1)
        out = np.maximum(out, np.where((doy >= s) & (doy <= e), np.minimum(up, down), 0.0))
    return out


def calendar_fruit_susceptible(times, petal_fall_doy, susceptible_days) -> np.ndarray:
    """Default fruit susceptibility per day [0–1]: 1 from petal fall for ``susceptible_days``, else 0."""
    doy = _doy(times)
    return ((doy >= petal_fall_doy) & (doy < petal_fall_doy + susceptible_days)).astype(float)


def host_arrays(times, plot_ids, host: xr.Dataset | dict | None, host_params, cbs_params=None):
    """Flush fraction and fruit susceptibility arrays (time, plot) and a note on where they came from.

    Parameters
    ----------
    times : datetime64 array of the days
    plot_ids : array of plot ids
    host : xarray.Dataset or dict of DataArrays, optional
        ``flush_fraction`` and/or ``fruit_susceptible`` with dims (time, plot) (or (time,)), values 0–1.
    host_params, cbs_params : ParameterSet (``host`` and ``black_spot``)

    Returns
    -------
    (flush, fruit, source) : arrays (time, plot) and a text for ``host_state_source``.
    """
    times = pd.DatetimeIndex(times)
    n_p = len(plot_ids)
    flush_cal = calendar_flush_fraction(times, host_params["flush.start_doy"], host_params["flush.end_doy"])
    days = cbs_params["host.susceptible_days"] if cbs_params is not None else 150.0
    fruit_cal = calendar_fruit_susceptible(times, host_params["fruit.petal_fall_doy"], days)
    out = {
        "flush_fraction": np.repeat(flush_cal[:, None], n_p, 1),
        "fruit_susceptible": np.repeat(fruit_cal[:, None], n_p, 1),
    }
    notes = []
    host = host or {}
    for name in host:
        if name not in ("flush_fraction", "fruit_susceptible"):
            if isinstance(host, xr.Dataset) and name in host.coords:
                continue
            raise InputError(f"unknown host state '{name}'; give flush_fraction and/or fruit_susceptible.")
    for name in ("flush_fraction", "fruit_susceptible"):
        given = host.get(name) if hasattr(host, "get") else None
        if given is None:
            notes.append(f"{name}: default calendar (pests/parameters/host.toml, Three Gorges belt)")
            continue
        da = given if isinstance(given, xr.DataArray) else xr.DataArray(given)
        if "time" not in da.dims:
            raise InputError(f"host state {name} has no 'time' dimension; give it with dims (time, plot).")
        vmin, vmax = float(da.min()), float(da.max())
        if vmin < 0 or vmax > 1:
            raise InputError(
                f"host state {name} has values from {vmin:g} to {vmax:g}; it must be a fraction "
                "between 0 and 1."
            )
        da = da.reindex(time=times.values)
        if "plot" in da.dims:
            da = da.reindex(plot=np.asarray(plot_ids)).transpose("time", "plot")
            values = da.values.astype(float)
        else:
            values = np.repeat(da.values.astype(float)[:, None], n_p, 1)
        missing = np.isnan(values)
        values = np.where(missing, out[name], values)
        out[name] = values
        if missing.all():
            notes.append(f"{name}: given but not covering these days; default calendar used")
        elif missing.any():
            notes.append(
                f"{name}: growth model where given, default calendar on {int(missing.any(1).sum())} days"
            )
        else:
            notes.append(f"{name}: growth model (given by the caller)")
    return out["flush_fraction"], out["fruit_susceptible"], "; ".join(notes)
