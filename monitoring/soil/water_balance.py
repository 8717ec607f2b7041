"""Daily root-zone water balance of citrus plots (FAO-56 Chapter 8, single crop coefficient).

Process functions (arrays in, arrays out) and one orchestrator, :func:`water_balance`, vectorised over plots:
numpy arrays ``(time, plot)``; the only loop is over days, because each day starts from yesterday's
depletion. Sensor readings, where present and QC-passed, reset the depletion (science note §2.2).

Equations (Allen et al. 1998, FAO-56): TAW Eq. 82, RAW Eq. 83 with ``p = p_tab + 0.04 (5 − ETc)``, Ks Eq. 84,
balance Eq. 85, deep percolation Eq. 88. Runoff: SCS curve number with the steep-slope correction of
Huang et al. (2006) and CN moved between the dry (CN1) and wet (CN3) values by the root-zone depletion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from orchard.params import ParameterSet, load_parameters

__all__ = [
    "PARAMETER_FILE",
    "MODEL_VERSION",
    "default_parameters",
    "citrus_kc",
    "total_available_water",
    "depletion_fraction",
    "water_stress_coefficient",
    "curve_number_slope",
    "curve_number_runoff",
    "depletion_from_theta",
    "plot_soil",
    "water_balance",
]

PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "water_balance.toml"
MODEL_VERSION = "1.0"


def default_parameters() -> ParameterSet:
    """The shipped water-balance parameter set (``parameters/water_balance.toml``)."""
    return load_parameters(PARAMETER_FILE)


def _f(x):
    return np.asarray(x, dtype=float)


def citrus_kc(
    canopy_cover,
    doy,
    cover_points=(0.2, 0.5, 0.7),
    kc_ini=(0.50, 0.65, 0.70),
    kc_mid=(0.45, 0.60, 0.65),
    kc_end=(0.55, 0.65, 0.70),
    stage_days=(60, 90, 120, 95),
    increment=0.0,
):
    """Single crop coefficient of citrus by canopy cover and day of year [-].

    Kc ini/mid/end are interpolated in canopy cover between the FAO-56 Table 12 rows (held constant
    outside them); the year follows the Table 11 stages from 1 January (initial, development with a linear
    change ini→mid, mid, late with a linear change mid→end).

    Parameters
    ----------
    canopy_cover : array-like
        Fraction of ground covered by the canopy [-], shape ``(plot,)``.
    doy : array-like
        Day of the year, shape ``(time,)``.

    Returns
    -------
    numpy.ndarray, shape ``(time, plot)`` [-].

    References
    ----------
    Allen et al. (1998) FAO-56 Tables 11 and 12 (citrus, no ground cover).
    """
    cc = np.atleast_1d(_f(canopy_cover))
    ini = np.interp(cc, cover_points, kc_ini) + increment
    mid = np.interp(cc, cover_points, kc_mid) + increment
    end = np.interp(cc, cover_points, kc_end) + increment
    d = np.atleast_1d(_f(doy))[:, None]
    l_ini, l_dev, l_mid, _ = stage_days
    t1, t2, t3 = l_ini, l_ini + l_dev, l_ini + l_dev + l_mid
    year_end = 366.0
    dev = np.clip((d - t1) / l_dev, 0.0, 1.0)
    late = np.clip((d - t3) / max(year_end - t3, 1.0), 0.0, 1.0)
    return np.where(
        d <= t1,
        ini,
        np.where(d <= t2, ini + dev * (mid - ini), np.where(d <= t3, mid, mid + late * (end - mid))),
    )


def total_available_water(field_capacity, wilting_point, root_depth_m):
    """Total available water in the root zone TAW [mm], FAO-56 Eq. 82: ``1000 (θFC − θWP) Zr``."""
    return 1000.0 * (_f(field_capacity) - _f(wilting_point)) * _f(root_depth_m)


def depletion_fraction(etc_mm, p_table=0.5):
    """Depletion fraction for no stress p [-], FAO-56 Ch. 8: ``p_tab + 0.04 (5 − ETc)`` in [0.1, 0.8]."""
    return np.clip(p_table + 0.04 * (5.0 - _f(etc_mm)), 0.1, 0.8)


def water_stress_coefficient(depletion_mm, taw_mm, p):
    """Water stress coefficient Ks [-], FAO-56 Eq. 84.

    ``Ks = (TAW − Dr) / ((1 − p) TAW)`` when Dr > RAW = p·TAW, else 1; clipped to [0, 1].
    """
    taw, dr, p = _f(taw_mm), _f(depletion_mm), _f(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        ks = (taw - dr) / ((1.0 - p) * taw)
    return np.where(dr > p * taw, np.clip(ks, 0.0, 1.0), 1.0)


def curve_number_slope(cn2, slope_deg):
    """Curve number corrected for steep slopes [-] (Huang et al. 2006, Hydrol. Process. 20:579–589).

    ``CN2α = CN2 (322.79 + 15.63 α)/(α + 323.52)`` with α the slope as a gradient [m/m]
    (science note §2.2; unconfirmed against the original).
    """
    alpha = np.tan(np.deg2rad(_f(slope_deg)))
    return np.clip(_f(cn2) * (322.79 + 15.63 * alpha) / (alpha + 323.52), 1.0, 99.0)


def curve_number_runoff(precip_mm, cn, ia_ratio=0.2):
    """Surface runoff of a day's rain [mm], SCS curve-number method.

    ``S = 250 (100/CN − 1)``, ``Ia = ia_ratio · S``, ``RO = (P − Ia)² / (P − Ia + S)`` for P > Ia, else 0.
    """
    p = _f(precip_mm)
    s = 250.0 * (100.0 / _f(cn) - 1.0)
    ia = ia_ratio * s
    excess = np.maximum(p - ia, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ro = np.where(excess > 0, excess**2 / (excess + s), 0.0)
    return np.minimum(ro, np.maximum(p, 0.0))


def _cn_dry_wet(cn2):
    """CN1 (dry) and CN3 (wet) from CN2 (Hawkins et al. 1985, as used by ASCE 2016 / pyfao56)."""
    cn2 = _f(cn2)
    return cn2 / (2.281 - 0.01281 * cn2), cn2 / (0.427 + 0.00573 * cn2)


def depletion_from_theta(theta_m3_m3, field_capacity, layer_thickness_m):
    """Root-zone depletion from measured water contents [mm], ``Dr = Σ 1000 (θFC − θk) Δzk``.

    Parameters
    ----------
    theta_m3_m3 : array-like, shape ``(..., layer)``
        Volumetric water content of each layer [m³ m⁻³] (NaN = no valid reading).
    field_capacity : array-like, broadcast against ``theta_m3_m3``
    layer_thickness_m : array-like, shape ``(layer,)`` or broadcastable
        Thickness of the soil layer each sensor represents, summing to the root depth [m].

    Returns
    -------
    numpy.ndarray, shape ``(...)`` [mm]; NaN where any layer is missing; never below 0.

    References
    ----------
    FAO-56 Eq. 87 applied per layer (cf. pyfao56 ``tools.soil_water``); science note §2.2.
    """
    d = 1000.0 * (_f(field_capacity) - _f(theta_m3_m3)) * _f(layer_thickness_m)
    return np.maximum(d.sum(axis=-1), 0.0)


def plot_soil(plots: xr.Dataset, params: ParameterSet) -> dict[str, np.ndarray]:
    """Soil and canopy attributes per plot with the documented defaults filled in (and which were filled).

    Returns a dict of float arrays ``field_capacity``, ``wilting_point``, ``root_depth_m``, ``canopy_cover``,
    ``slope_deg``, ``irrigation_capacity_mm_d`` and an int array ``defaulted``
    (bits: 1 FC, 2 WP, 4 Zr, 8 canopy).
    """
    n = plots.sizes["plot"]
    out: dict[str, np.ndarray] = {}
    defaulted = np.zeros(n, dtype=np.int64)
    for bit, name in ((1, "field_capacity"), (2, "wilting_point"), (4, "root_depth_m"), (8, "canopy_cover")):
        values = _f(plots[name].values) if name in plots else np.full(n, np.nan)
        missing = ~np.isfinite(values)
        defaulted |= np.where(missing, bit, 0)
        out[name] = np.where(missing, float(params[f"defaults.{name}"]), values)
    bad = out["wilting_point"] >= out["field_capacity"]
    if bad.any():
        from orchard.errors import InputError

        plot = str(plots["plot"].values[int(np.flatnonzero(bad)[0])])
        raise InputError(
            f"plot {plot}: wilting point {out['wilting_point'][bad][0]:.2f} is not below field "
            f"capacity {out['field_capacity'][bad][0]:.2f}; fix the plot's soil attributes."
        )
    for name in ("slope_deg", "irrigation_capacity_mm_d"):
        values = _f(plots[name].values) if name in plots else np.zeros(n)
        out[name] = np.where(np.isfinite(values), values, 0.0)
    out["defaulted"] = defaulted
    return out


def _as_time_plot(name: str, values, shape=None) -> np.ndarray:
    arr = _f(values.values if isinstance(values, xr.DataArray) else values)
    if arr.ndim == 1 and shape is not None:
        arr = arr[:, None]
    if shape is not None:
        arr = np.broadcast_to(arr, shape)
    return arr


def water_balance(
    eto_mm,
    precip_mm,
    plots: xr.Dataset,
    params: ParameterSet | None = None,
    *,
    times=None,
    irrigation_mm=None,
    observed_depletion_mm=None,
    initial_depletion_mm=None,
    kc=None,
) -> xr.Dataset:
    """Daily root-zone water balance per plot (FAO-56 Ch. 8, single Kc), vectorised over plots.

    Parameters
    ----------
    eto_mm : array-like or xarray.DataArray, shape ``(time, plot)`` (or ``(time,)`` for all plots)
        Reference evapotranspiration [mm d-1].
    precip_mm : array-like, same shape
        Rainfall [mm d-1] (NaN is taken as 0 and counted in ``precip_missing``).
    plots : xarray.Dataset
        Plot attributes along ``plot`` (:meth:`orchard.plots.PlotSet.to_dataset`): ``field_capacity``,
        ``wilting_point`` [m³ m⁻³], ``root_depth_m``, ``canopy_cover``, ``slope_deg``,
        ``irrigation_capacity_mm_d``; missing values take the ``defaults.*`` parameters.
    params : ParameterSet, optional
        Default :func:`default_parameters`.
    times : array-like of dates, optional
        Local days (default: the ``time`` coordinate of ``eto_mm``).
    irrigation_mm : array-like, optional
        Net irrigation applied [mm d-1] (default none).
    observed_depletion_mm : array-like, optional, shape ``(time, plot)``
        Depletion measured by QC-passed soil-moisture sensors at the end of each day [mm]; NaN where none.
        Where finite, the day ends at this depletion (``depletion_from_sensor`` = 1).
    initial_depletion_mm : array-like, optional, shape ``(plot,)``
        Depletion at the start [mm] (default ``defaults.initial_depletion_fraction`` · TAW).
    kc : array-like, optional
        Crop coefficient ``(time, plot)`` overriding :func:`citrus_kc` (e.g. from NDVI canopy cover).

    Returns
    -------
    xarray.Dataset, dims ``(time, plot)``
        ``depletion_mm`` (end of day), ``taw_mm``, ``raw_mm``, ``p``, ``kc``, ``ks`` (the day's water stress
        coefficient, the array the growth model takes), ``etc_mm`` (= Ks Kc ETo), ``eto_mm``, ``precip_mm``,
        ``runoff_mm``, ``deep_percolation_mm``, ``irrigation_mm``, ``irrigation_need_mm`` (net depth to refill
        to field capacity once depletion exceeds RAW, else 0), ``depletion_from_sensor``.

    References
    ----------
    Allen et al. (1998) FAO-56 Eqs. 82–88; science note soil.md §2.2.
    """
    params = params or default_parameters()
    n_plot = plots.sizes["plot"]
    if times is None:
        if not isinstance(eto_mm, xr.DataArray) or "time" not in eto_mm.coords:
            from orchard.errors import InputError

            raise InputError(
                "water_balance: give times= (the local days) or ETo as a DataArray with a time coordinate."
            )
        times = eto_mm["time"].values
    times = pd.DatetimeIndex(pd.to_datetime(np.asarray(times)))
    shape = (len(times), n_plot)
    eto = _as_time_plot("eto_mm", eto_mm, shape)
    rain_raw = _as_time_plot("precip_mm", precip_mm, shape)
    precip_missing = ~np.isfinite(rain_raw)
    rain = np.where(precip_missing, 0.0, rain_raw)
    irr = (
        np.zeros(shape)
        if irrigation_mm is None
        else np.nan_to_num(_as_time_plot("irr", irrigation_mm, shape))
    )
    obs = None if observed_depletion_mm is None else _as_time_plot("obs", observed_depletion_mm, shape)

    soil = plot_soil(plots, params)
    taw = total_available_water(soil["field_capacity"], soil["wilting_point"], soil["root_depth_m"])
    if kc is None:
        kc_arr = citrus_kc(
            soil["canopy_cover"],
            times.dayofyear.to_numpy(),
            params["kc.canopy_cover_points"],
            params["kc.ini"],
            params["kc.mid"],
            params["kc.end"],
            params["kc.stage_days"],
            params["kc.humid_increment"],
        )
    else:
        kc_arr = _as_time_plot("kc", kc, shape)
    etc_potential = kc_arr * np.nan_to_num(eto)
    p = depletion_fraction(etc_potential, params["depletion.p_table"])
    cn2 = curve_number_slope(params["runoff.cn2"], soil["slope_deg"])
    cn1, cn3 = _cn_dry_wet(cn2)
    ia_ratio = params["runoff.initial_abstraction_ratio"]

    if initial_depletion_mm is None:
        dr = float(params["defaults.initial_depletion_fraction"]) * taw
    else:
        dr = np.clip(np.broadcast_to(_f(initial_depletion_mm), (n_plot,)), 0.0, taw)
    out = {
        name: np.empty(shape) for name in ("depletion_mm", "ks", "etc_mm", "runoff_mm", "deep_percolation_mm")
    }
    from_sensor = np.zeros(shape, dtype=np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(shape[0]):
            ks = water_stress_coefficient(dr, taw, p[i])
            etc = ks * etc_potential[i]
            dryness = np.clip(dr / np.where(taw > 0, taw, 1.0), 0.0, 1.0)
            ro = curve_number_runoff(rain[i], cn3 + (cn1 - cn3) * dryness, ia_ratio)
            water_in = rain[i] - ro + irr[i]
            dp = np.maximum(water_in - etc - dr, 0.0)
            dr = np.clip(dr - water_in + etc + dp, 0.0, taw)
            if obs is not None:
                seen = np.isfinite(obs[i])
                if seen.any():
                    dr = np.where(seen, np.clip(obs[i], 0.0, taw), dr)
                    from_sensor[i] = seen
            out["depletion_mm"][i] = dr
            out["ks"][i] = ks
            out["etc_mm"][i] = etc
            out["runoff_mm"][i] = ro
            out["deep_percolation_mm"][i] = dp
    raw = p * taw
    need = np.where(out["depletion_mm"] > raw, out["depletion_mm"], 0.0)

    coords = {"time": times.to_numpy(), "plot": plots["plot"].values}
    attrs = {
        "depletion_mm": ("mm", "Root-zone depletion at the end of the day (FAO-56 Dr)"),
        "taw_mm": ("mm", "Total available water in the root zone (FAO-56 Eq. 82)"),
        "raw_mm": ("mm", "Readily available water p·TAW (FAO-56 Eq. 83)"),
        "p": ("1", "Depletion fraction for no stress, adjusted for ETc"),
        "kc": ("1", "Citrus crop coefficient (FAO-56 Tables 11-12 by canopy cover)"),
        "ks": ("1", "Water stress coefficient Ks of the day (FAO-56 Eq. 84); input of the growth model"),
        "etc_mm": ("mm d-1", "Actual crop evapotranspiration Ks·Kc·ETo"),
        "eto_mm": ("mm d-1", "Reference evapotranspiration"),
        "precip_mm": ("mm d-1", "Rainfall (missing taken as 0)"),
        "runoff_mm": ("mm d-1", "Surface runoff of rain (curve number, slope-corrected)"),
        "deep_percolation_mm": ("mm d-1", "Drainage below the root zone (FAO-56 Eq. 88)"),
        "irrigation_mm": ("mm d-1", "Net irrigation applied"),
        "irrigation_need_mm": (
            "mm",
            "Net irrigation to refill the root zone to field capacity when depletion exceeds RAW",
        ),
        "depletion_from_sensor": ("1", "1 where the day's depletion was reset from soil-moisture sensors"),
        "precip_missing": ("1", "1 where rainfall was missing and taken as 0"),
    }
    values = {
        **out,
        "taw_mm": np.broadcast_to(taw, shape),
        "raw_mm": raw,
        "p": p,
        "kc": kc_arr,
        "eto_mm": eto,
        "precip_mm": rain,
        "irrigation_mm": irr,
        "irrigation_need_mm": need,
        "depletion_from_sensor": from_sensor,
        "precip_missing": precip_missing.astype(np.int8),
    }
    ds = xr.Dataset(
        {
            name: (("time", "plot"), np.asarray(values[name]), {"units": u, "long_name": ln})
            for name, (u, ln) in attrs.items()
        },
        coords=coords,
    )
    for name in (
        "field_capacity",
        "wilting_point",
        "root_depth_m",
        "canopy_cover",
        "irrigation_capacity_mm_d",
    ):
        ds[name] = (
            "plot",
            soil[name],
            {
                "units": plots[name].attrs.get("units", "") if name in plots else "",
                "long_name": f"{name} used (defaults filled)",
            },
        )
    ds["soil_defaulted"] = (
        "plot",
        soil["defaulted"],
        {"units": "1", "long_name": "Defaults used: bits 1 FC, 2 WP, 4 root depth, 8 canopy cover"},
    )
    ds.attrs.update(
        model="monitoring.soil.water_balance",
        model_version=MODEL_VERSION,
        parameter_set=f"{params.name}@{params.hash}",
        sources="Allen et al. 1998 FAO-56 Ch. 8 (Eqs. 82-88, Tables 11, 12, 22); SCS curve number "
        "with Huang et al. 2006 slope correction",
        source=str(getattr(eto_mm, "attrs", {}).get("source", "")),
    )
    return ds
