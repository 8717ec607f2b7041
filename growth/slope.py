"""Slope and aspect correction: radiation on the plot's own plane and the temperature offsets it implies.

Station (or reanalysis) global radiation is measured on a horizontal, unobstructed surface. A plot on a
north-facing 25° slope in a gorge receives less, a south-facing one more, and both lose the sun earlier behind
the surrounding hills. This module turns daily station global radiation into daily radiation on each plot's
plane and into offsets of the daily maximum and minimum air temperature (science notes, growth.md §7).

Chain (one process per function, :func:`slope_weather` on top):

1. :func:`daily_plane_of_slope_radiation` spreads each day's measured global radiation ``Rs`` over the day
   in proportion to the extraterrestrial radiation on a horizontal plane (``cos Z`` at the step midpoints;
   the sun-earth distance is constant within a day), so the hourly GHI keeps the measured daily total and a
   dull day has a low clearness index all day long;
2. :func:`plane_of_slope_irradiance` splits GHI into beam and diffuse with Erbs et al. (1982) and transposes
   it onto the plot's plane with pvlib (Hay & Davies 1980 by default; Perez et al. 1990 or isotropic);
   the beam and the circumsolar diffuse are cut where the sun is below the plot's horizon profile, the
   isotropic sky diffuse is weighted by the sky the tilted plot actually sees
   (:func:`tilted_sky_view_factor`), and the ground term by the terrain it sees instead;
3. :func:`tmax_offset_c` and :func:`tmin_offset_c` convert the radiation gained or lost against flat ground
   into temperature offsets, ``ΔTmax = c_T (H_slope − H_flat)``, ``ΔTmin = f_min ΔTmax``.

Conventions
-----------
* Angles in degrees. Slope 0–90° from horizontal; aspect = the direction the slope faces, clockwise from
  north (N 0, E 90, S 180, W 270), which is pvlib's ``surface_azimuth``. Horizon profiles are elevation
  angles at ``n`` equally spaced azimuths starting at north (``orchard.terrain.horizon_angles``).
* Times are local standard time: tz-aware, or naive with ``utc_offset_h`` (8 for China). Daily data are
  stamped at local midnight (``orchard.weather`` convention).
* **Flat reference** = a horizontal surface at the same place, with the same weather and no horizon
  obstruction, i.e. the station measurement itself: ``rs_flat_mj_m2`` equals the measured ``rs_mj_m2``.
  The elevation lapse rate is applied beforehand by ``orchard.weather.weather_for_plots`` and is not
  applied again here, so "flat" means "flat ground at the plot's elevation".
* **Solar geometry** is computed once per *site*, not per plot: plots are grouped in cells of
  :data:`SITE_RESOLUTION_DEG` (0.1°, about 10 km) and the sun is placed for the mean position of the plots
  of each cell. Within a cell the sun's zenith and azimuth differ from the plot's by less than about 0.1°,
  which is far below the 10° resolution of a horizon profile. A district of a few km is one site.

Sky-view factor and double counting
-----------------------------------
``orchard.terrain.sky_view_factor`` is the cosine-weighted sky-view factor of a *horizontal* surface
``SVF = mean cos² h(φ)``. For a plot on a uniform slope β its horizon profile contains the uphill slope
itself, and its SVF is exactly ``(1 + cos β)/2`` — the isotropic view factor of the tilted plane. So
multiplying pvlib's tilted isotropic term ``DHI (1 + cos β)/2`` by SVF would count the slope's own tilt twice.
What is done instead (:func:`tilted_sky_view_factor`):

* with a horizon profile, the sky-view factor of the *tilted* surface is integrated from it (Dozier & Frew
  1990, their configuration factor ``V_d``), the horizon in each direction being the higher of the terrain
  horizon and the plot's own plane; it equals ``(1 + cos β)/2`` for an unobstructed slope and is lower
  where opposite hillsides rise above the plane. The isotropic sky term becomes ``DHI · V_d`` (for the Perez
  horizon band the same factor ``V_d / ((1 + cos β)/2)`` is applied);
* with only a horizontal SVF (no profile), ``V_d = min(SVF, (1 + cos β)/2)``, which is the same as scaling
  the isotropic term by ``SVF / ((1 + cos β)/2)`` capped at 1;
* the ground/terrain-reflected term is ``ρ · GHI · (1 − V_d)``: all of the hemisphere that is not sky is
  terrain assumed to receive GHI (for an unobstructed slope this is pvlib's ``ρ GHI (1 − cos β)/2``).

References
----------
Erbs, D.G., Klein, S.A., Duffie, J.A. (1982). Estimation of the diffuse radiation fraction for hourly,
daily and monthly-average global radiation. Solar Energy 28(4):293-302.
Hay, J.E., Davies, J.A. (1980). Calculations of the solar radiation incident on an inclined surface. Proc.
First Canadian Solar Radiation Data Workshop, 59.
Perez, R., Ineichen, P., Seals, R., Michalsky, J., Stewart, R. (1990). Modeling daylight availability and
irradiance components from direct and global irradiance. Solar Energy 44(5):271-289.
Dozier, J., Frew, J. (1990). Rapid calculation of terrain parameters for radiation modeling from digital
elevation data. IEEE Trans. Geosci. Remote Sens. 28(5):963-969.
Holmgren, W.F., Hansen, C.W., Mikofski, M.A. (2018). pvlib python. J. Open Source Softw. 3(29):884.
Science notes growth.md §7 (c_T, f_min, the measured aspect contrasts of Fuh Baw-Puh).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import xarray as xr

from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError, ParameterError
from orchard.params import ParameterSet, load_parameters
from orchard.weather import extraterrestrial_radiation_daily

__all__ = [
    "PARAMETER_FILE",
    "TRANSPOSITION_MODELS",
    "daily_plane_of_slope_radiation",
    "horizon_elevation_at",
    "plane_of_slope_irradiance",
    "slope_parameters",
    "slope_weather",
    "tilted_sky_view_factor",
    "tmax_offset_c",
    "tmin_offset_c",
]

#: The shipped parameter file (c_T, tmin fraction, albedo, transposition model code).
PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "slope.toml"
#: Sky-diffuse models accepted by :func:`plane_of_slope_irradiance` (names as in pvlib).
TRANSPOSITION_MODELS = ("isotropic", "haydavies", "perez")
#: Code of each model in ``slope.toml`` (parameter values must be numbers).
MODEL_CODES = {0: "isotropic", 1: "haydavies", 2: "perez"}
#: Plots within one cell of this size [deg] share one solar position (see the module notes).
SITE_RESOLUTION_DEG = 0.1
#: Slopes at or below this [deg] are flat and need no aspect (as ``orchard.terrain.slope_aspect``).
FLAT_SLOPE_DEG = 1e-6
#: Largest (time steps × plots) block transposed at once: bounds memory (pvlib keeps some 20 temporaries of
#: this size, ~160 MB) and is about the fastest block size on a 2-core machine.
MAX_BLOCK_ELEMENTS = 1_000_000
#: The factorised daily path (plots sharing a station) holds about four such arrays of float64.
FAST_BLOCK_ELEMENTS = 8_000_000

_J_PER_MJ = 1.0e6


# --------------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------------

def slope_parameters() -> ParameterSet:
    """The shipped slope-correction parameters (``growth/parameters/slope.toml``)."""
    return load_parameters(PARAMETER_FILE)


def _check_model(model) -> str:
    name = str(model).strip().lower() if isinstance(model, str) else None
    if name == "hay-davies":
        name = "haydavies"
    if name not in TRANSPOSITION_MODELS:
        raise ParameterError(f"unknown transposition model {model!r}; choose one of "
                             f"{', '.join(TRANSPOSITION_MODELS)}.")
    return name


# --------------------------------------------------------------------------------------------------------
# Process functions
# --------------------------------------------------------------------------------------------------------

def tilted_sky_view_factor(slope_deg, aspect_deg, horizon_deg=None, sky_view_factor=None):
    """Isotropic sky-view factor of a tilted plot, horizon obstruction included [-].

    With a horizon profile ``h(φ)`` (Dozier & Frew 1990)::

        V_d = (1/2π) ∫ [cos β sin² H(φ) + sin β cos(φ − α) (H(φ) − sin H(φ) cos H(φ))] dφ
        H(φ) = 90° − max(h(φ), 0, e_β(φ)),   tan e_β(φ) = −tan β cos(φ − α)

    where ``e_β`` is the elevation of the plot's own plane in direction φ (positive uphill), so the
    hillside behind the plot is not counted twice. ``V_d`` is ``(1 + cos β)/2`` for an unobstructed slope and
    1 for open flat ground. Without a profile, ``V_d = min(SVF, (1 + cos β)/2)`` from the horizontal
    sky-view factor ``SVF`` (which equals ``(1 + cos β)/2`` for a uniform slope, see the module notes);
    with neither, ``(1 + cos β)/2``.

    Parameters
    ----------
    slope_deg : array-like, shape (n_plot,) or scalar
        Slope β [deg], 0–90.
    aspect_deg : array-like, shape (n_plot,) or scalar
        Aspect α [deg] clockwise from north, the direction the slope faces.
    horizon_deg : array-like, shape (n_plot, n_azimuth) or (n_azimuth,), optional
        Horizon elevation angles [deg] at ``n_azimuth`` equally spaced azimuths starting at north.
    sky_view_factor : array-like, shape (n_plot,) or scalar, optional
        Cosine-weighted sky-view factor of a horizontal surface [-]; used only without ``horizon_deg``.

    Returns
    -------
    numpy.ndarray, shape (n_plot,) or scalar [-], between 0 and ``(1 + cos β)/2``.

    References
    ----------
    Dozier, J., Frew, J. (1990). IEEE Trans. Geosci. Remote Sens. 28(5):963-969 (terrain configuration
    factor).
    """
    beta = np.radians(np.asarray(slope_deg, dtype=float))
    alpha = np.radians(np.nan_to_num(np.asarray(aspect_deg, dtype=float)))
    unobstructed = 0.5 * (1.0 + np.cos(beta))
    if horizon_deg is not None:
        h = np.radians(np.asarray(horizon_deg, dtype=float))
        n_az = h.shape[-1]
        phi = np.radians(np.arange(n_az) * (360.0 / n_az))
        b, a = beta[..., None], alpha[..., None]
        cos_rel = np.cos(phi - a)
        own_plane = np.arctan(-np.tan(b) * cos_rel)
        big_h = 0.5 * np.pi - np.maximum(np.maximum(h, 0.0), own_plane)
        integrand = (np.cos(b) * np.sin(big_h) ** 2
                     + np.sin(b) * cos_rel * (big_h - np.sin(big_h) * np.cos(big_h)))
        return np.clip(integrand.mean(axis=-1), 0.0, unobstructed)
    if sky_view_factor is not None:
        return np.minimum(np.asarray(sky_view_factor, dtype=float), unobstructed)
    return unobstructed


def horizon_elevation_at(horizon_deg, azimuth_deg):
    """Horizon elevation of each plot towards the given azimuths, interpolated periodically [deg].

    Parameters
    ----------
    horizon_deg : array-like, shape (n_plot, n_azimuth) or (n_azimuth,)
        Horizon elevation angles [deg] at equally spaced azimuths starting at north (0, 360/n, ...).
    azimuth_deg : array-like, shape (n_time,)
        Azimuths [deg] clockwise from north, e.g. the sun's.

    Returns
    -------
    numpy.ndarray, shape (n_time, n_plot) (or (n_time,) for a single profile) [deg]
        Linear interpolation between the two neighbouring azimuths of the profile, wrapping 360° -> 0°.
    """
    h = np.asarray(horizon_deg, dtype=float)
    single = h.ndim == 1
    h = np.atleast_2d(h)
    n_az = h.shape[-1]
    x = np.mod(np.ravel(np.asarray(azimuth_deg, dtype=float)), 360.0) / (360.0 / n_az)
    i0 = np.floor(x).astype(np.int64)
    frac = (x - i0)[:, None]
    i0 %= n_az
    i1 = (i0 + 1) % n_az
    columns = h.T  # (n_azimuth, n_plot)
    out = columns[i0] * (1.0 - frac) + columns[i1] * frac
    return out[:, 0] if single else out


def tmax_offset_c(rs_slope_mj_m2, rs_flat_mj_m2, c_t):
    """Offset of the daily maximum air temperature on the slope against flat ground [°C].

    ``ΔTmax = c_T · (H_slope − H_flat)``: a sunnier slope heats the air above it more by day.

    Parameters
    ----------
    rs_slope_mj_m2, rs_flat_mj_m2 : array-like
        Daily global radiation on the plot's plane and on flat unobstructed ground [MJ m-2 d-1].
    c_t : float
        Temperature rise per unit of extra radiation [°C per MJ m-2 d-1]; 0.2 proposed, 0.15–0.3.

    Returns
    -------
    Same type and shape as the broadcast inputs [°C].

    References
    ----------
    Science notes growth.md §7.3 (proposed rule, calibrated on Fuh Baw-Puh's N/S contrasts); microclima
    (Maclean et al. 2019, Methods Ecol. Evol. 10:280-290) for the linear radiation-temperature relation.
    """
    return c_t * (rs_slope_mj_m2 - rs_flat_mj_m2)


def tmin_offset_c(delta_tmax_c, tmin_fraction):
    """Offset of the daily minimum air temperature on the slope against flat ground [°C].

    ``ΔTmin = f_min · ΔTmax``: by night the aspect matters much less (cold air drains by slope, not aspect).

    Parameters
    ----------
    delta_tmax_c : array-like
        Offset of the daily maximum, from :func:`tmax_offset_c` [°C].
    tmin_fraction : float
        f_min [-]; 0.15 from Fuh Baw-Puh's measurements (S slope +0.4 °C Tmin vs +2.6 °C Tmax).

    Returns
    -------
    Same type and shape as ``delta_tmax_c`` [°C].

    References
    ----------
    Fuh Baw-Puh, in Smithson, Addison & Atkinson, Fundamentals of the Physical Environment, Table 8.5;
    science notes growth.md §7.3.
    """
    return tmin_fraction * delta_tmax_c


# --------------------------------------------------------------------------------------------------------
# Input checks and shapes
# --------------------------------------------------------------------------------------------------------

def _labels(plot_ids, n):
    if plot_ids is None:
        return np.array([f"#{i}" for i in range(n)])
    labels = np.asarray(plot_ids, dtype=str).ravel()
    if labels.size != n:
        raise InputError(f"plot_ids has {labels.size} entries for {n} plots; give one id per plot.")
    return labels


def _phrase(labels, noun_singular="plot"):
    labels = [str(x) for x in labels]
    shown = ", ".join(labels[:10]) + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")
    return f"{noun_singular} {shown} has" if len(labels) == 1 else f"{noun_singular}s {shown} have"


def _per_plot(name, value, n_col):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n_col, float(arr))
    arr = arr.ravel()
    if arr.size == 1:
        return np.full(n_col, float(arr[0]))
    if arr.size != n_col:
        raise InputError(f"{name} has {arr.size} values for {n_col} plots; "
                         "give one per plot or a single value.")
    return arr


def _n_columns(data_2d_ncol, *per_plot):
    sizes = {data_2d_ncol} if data_2d_ncol is not None else set()
    for value in per_plot:
        if value is not None:
            size = np.size(value)
            if size > 1:
                sizes.add(size)
    sizes.discard(1)
    if len(sizes) > 1:
        counts = ", ".join(map(str, sorted(sizes)))
        raise InputError(f"the inputs disagree on the number of plots ({counts}); give ghi/rs as "
                         "(time, plot) and every per-plot value with one entry per plot.")
    return sizes.pop() if sizes else 1


def _prepare_terrain(n_col, latitude, longitude, slope_deg, aspect_deg, horizon_deg, sky_view_factor,
                     albedo, labels):
    """Validated per-plot arrays: lat, lon, slope, aspect (0 on flat ground), horizon or None, V_d."""
    lat = _per_plot("latitude", latitude, n_col)
    lon = _per_plot("longitude", longitude, n_col)
    slope = _per_plot("slope_deg", slope_deg, n_col)
    aspect = _per_plot("aspect_deg", aspect_deg, n_col)
    bad = np.isnan(lat) | np.isnan(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 360)
    if bad.any():
        raise InputError(f"{_phrase(labels[bad])} no valid latitude/longitude; "
                         "give plot centroids in degrees.")
    flat = slope <= FLAT_SLOPE_DEG
    no_terrain = np.isnan(slope) | (np.isnan(aspect) & ~flat)
    horizon = None
    if horizon_deg is not None:
        horizon = np.asarray(horizon_deg, dtype=float)
        if horizon.ndim == 1:
            horizon = np.broadcast_to(horizon, (n_col, horizon.size))
        if horizon.ndim != 2 or horizon.shape[0] != n_col or horizon.shape[1] < 1:
            raise InputError(f"horizon_deg has shape {np.shape(horizon_deg)}; give (plot, azimuth) with one "
                             f"row per plot ({n_col}) at equally spaced azimuths from north.")
        no_terrain |= np.isnan(horizon).any(axis=1)
    if no_terrain.any():
        raise InputError(f"{_phrase(labels[no_terrain])} no terrain (slope/aspect"
                         f"{'/horizon' if horizon is not None else ''}); run `orchard terrain` first.")
    if ((slope < 0) | (slope > 90)).any():
        raise InputError(f"{_phrase(labels[(slope < 0) | (slope > 90)])} a slope outside 0–90 degrees; "
                         "give slope_deg in degrees (not percent).")
    if horizon is not None and (horizon > 90).any():
        raise InputError(f"{_phrase(labels[(horizon > 90).any(axis=1)])} horizon angles above 90 degrees; "
                         "give horizon elevation angles in degrees.")
    aspect = np.where(flat, 0.0, np.mod(aspect, 360.0))
    svf = None
    if sky_view_factor is not None:
        svf = _per_plot("sky_view_factor", sky_view_factor, n_col)
        if horizon is None and (np.isnan(svf) | (svf < 0) | (svf > 1)).any():
            bad = np.isnan(svf) | (svf < 0) | (svf > 1)
            raise InputError(f"{_phrase(labels[bad])} a sky-view factor that is missing or outside 0–1; "
                             "run `orchard terrain` first.")
    if not (np.isscalar(albedo) or np.ndim(albedo) == 0) or not 0.0 <= float(albedo) <= 1.0:
        raise ParameterError(f"albedo={albedo!r} must be a single number between 0 and 1 (e.g. 0.2).")
    v_sky = tilted_sky_view_factor(slope, aspect, horizon, svf)
    return lat, lon, slope, aspect, horizon, v_sky


def _check_irradiance(name, values, unit):
    negative = values < 0
    if negative.any():
        raise InputError(f"{name} has {int(negative.sum())} negative values (lowest {np.nanmin(values):g} "
                         f"{unit}); radiation cannot be negative, so set night-time sensor offsets to 0.")


def _check_below_extraterrestrial(rs, days, lat, labels):
    """Daily radiation above the extraterrestrial radiation (clearness index > 1) is impossible."""
    # on each distinct (day of year, latitude) once: a long record repeats its days of year
    day_of_year, day_index = np.unique(days.dayofyear.to_numpy(), return_inverse=True)
    latitudes, lat_index = np.unique(lat, return_inverse=True)
    ra = extraterrestrial_radiation_daily(latitudes[None, :], day_of_year[:, None])[day_index][:, lat_index]
    with np.errstate(invalid="ignore"):
        above = rs > ra
    if above.any():
        t, j = np.argwhere(above)[0]
        raise InputError(
            f"rs_mj_m2 exceeds the extraterrestrial radiation on {int(above.sum())} plot-days (first: "
            f"plot {labels[j]} on {days[t]:%Y-%m-%d}, {rs[t, j]:.1f} > {ra[t, j]:.1f} MJ m-2 d-1); check "
            "the units and run the weather quality control (orchard.weather.qc) first.")


def _local_times(times, utc_offset_h):
    """A tz-aware DatetimeIndex: naive times are local standard time at ``utc_offset_h``."""
    try:
        index = pd.DatetimeIndex(times)
    except (TypeError, ValueError) as exc:
        raise InputError(f"times could not be read as dates ({exc}); give datetimes.") from None
    if index.tz is None:
        index = index.tz_localize(_dt.timezone(_dt.timedelta(hours=float(utc_offset_h))))
    return index


def _sites(lat, lon, resolution_deg=SITE_RESOLUTION_DEG):
    """Groups of plots sharing a solar position: list of (lat, lon, column indices)."""
    if np.all(lat == lat[0]) and np.all(lon == lon[0]):
        return [(float(lat[0]), float(lon[0]), np.arange(lat.size))]
    keys = np.stack([np.floor(lat / resolution_deg), np.floor(lon / resolution_deg)], axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    out = []
    for k in range(int(inverse.max()) + 1):
        cols = np.flatnonzero(inverse == k)
        out.append((float(lat[cols].mean()), float(lon[cols].mean()), cols))
    return out


#: Sun positions of recent calls: every chunk of a weekly run asks for the same steps and sites.
_SOLAR_CACHE: dict = {}
_SOLAR_CACHE_SIZE = 8


def _solar(index, lat, lon):
    """Apparent zenith and azimuth [deg], extraterrestrial DNI [W m-2] and day of year, as (n, 1) arrays
    (read-only; the same steps and site give the same arrays, computed once)."""
    key = (index[0].value, index[-1].value, len(index), str(index.tz), float(lat), float(lon)) \
        if len(index) else None
    if key is not None and key in _SOLAR_CACHE:
        return _SOLAR_CACHE[key]
    result = _solar_position(index, lat, lon)
    for array in result:
        array.flags.writeable = False
    if key is not None:
        if len(_SOLAR_CACHE) >= _SOLAR_CACHE_SIZE:
            _SOLAR_CACHE.pop(next(iter(_SOLAR_CACHE)))
        _SOLAR_CACHE[key] = result
    return result


def _solar_position(index, lat, lon):
    pos = pvlib.solarposition.get_solarposition(index, lat, lon)
    zenith = pos["apparent_zenith"].to_numpy(dtype=float)[:, None]
    azimuth = pos["azimuth"].to_numpy(dtype=float)[:, None]
    # day of year of the UTC date, as pvlib takes it from a tz-aware DatetimeIndex
    doy = np.asarray(index.tz_convert("UTC").dayofyear, dtype=float)[:, None]
    dni_extra = pvlib.irradiance.get_extra_radiation(doy)
    return zenith, azimuth, dni_extra, doy


# --------------------------------------------------------------------------------------------------------
# Transposition
# --------------------------------------------------------------------------------------------------------

def _transpose(zenith, azimuth, dni_extra, doy, ghi, slope, aspect, horizon, v_sky, albedo, model):
    """Plane-of-slope components for one site: (n, 1) sun arrays, (n, m) GHI, (m,) plot arrays."""
    # Plots of one station share its GHI: then decompose it once (Erbs is a quarter of the cost).
    shared = ghi.shape[1] > 1 and bool(np.all(ghi == ghi[:, :1]))
    split = pvlib.irradiance.erbs(ghi[:, :1] if shared else ghi, zenith, doy)
    dni = np.broadcast_to(split["dni"], ghi.shape)
    dhi = np.broadcast_to(split["dhi"], ghi.shape)
    airmass = pvlib.atmosphere.get_relative_airmass(zenith) if model == "perez" else None
    with np.errstate(invalid="ignore", divide="ignore"):
        irr = pvlib.irradiance.get_total_irradiance(
            slope, aspect, zenith, azimuth, dni, ghi, dhi, dni_extra=dni_extra, airmass=airmass,
            albedo=albedo, model=model, diffuse_components=True)
    direct = irr["poa_direct"]
    circumsolar = irr.get("poa_circumsolar", 0.0)
    if horizon is not None:
        # beam and circumsolar diffuse come from the sun's direction: gone when it is behind the hills
        sunlit = (90.0 - zenith) >= horizon_elevation_at(horizon, azimuth)
        direct = np.where(sunlit, direct, 0.0)
        circumsolar = np.where(sunlit, circumsolar, 0.0)
    # isotropic sky (and the Perez horizon band) weighted by the sky the tilted plot sees, see module notes
    sky_share = v_sky / (0.5 * (1.0 + np.cos(np.radians(slope))))
    sky = (irr["poa_isotropic"] + irr.get("poa_horizon", 0.0)) * sky_share + circumsolar
    sky = np.maximum(sky, 0.0)
    ground = albedo * ghi * (1.0 - v_sky)
    return {"poa_global": direct + sky + ground, "poa_direct": direct, "poa_sky_diffuse": sky,
            "poa_ground_diffuse": ground}


def _shared_site_terms(zenith, azimuth, dni_extra, doy, ghi, starts, model, n_azimuth):
    """The site's part of :func:`_daily_sums_shared_ghi`, computed once for all plots sharing ``ghi``."""
    split = pvlib.irradiance.erbs(ghi[:, None], zenith, doy)
    dni = np.asarray(split["dni"], dtype=float)[:, 0]
    dhi = np.asarray(split["dhi"], dtype=float)[:, 0]
    zen = zenith[:, 0]
    cos_z = np.cos(np.radians(zen))
    if model == "haydavies":
        anisotropy = dni / dni_extra[:, 0]
        k = dni + np.maximum(dhi * anisotropy, 0.0) / np.maximum(cos_z, 0.01745)
        iso = np.maximum(dhi * (1.0 - anisotropy), 0.0)
    else:  # isotropic
        k, iso = dni, dhi
    az = np.radians(azimuth[:, 0])
    sin_z = np.sin(np.radians(zen))
    terms = {"sun": np.stack([cos_z, sin_z * np.cos(az), sin_z * np.sin(az)], axis=1),   # (step, 3)
             "k": k, "elevation": 90.0 - zen, "starts": starts,
             "iso_day": np.add.reduceat(iso, starts) if starts.size else np.zeros(0),
             "ghi_day": np.add.reduceat(ghi, starts) if starts.size else np.zeros(0)}
    if n_azimuth:  # interpolation positions in the horizon profile, as horizon_elevation_at
        x = np.mod(azimuth[:, 0], 360.0) / (360.0 / n_azimuth)
        i0 = np.floor(x).astype(np.int64)
        terms.update(frac=(x - i0)[:, None], i0=i0 % n_azimuth, i1=(i0 + 1) % n_azimuth)
    return terms


def _daily_sums_shared_ghi(terms, has_sun, n_day, slope, aspect, horizon, v_sky, albedo):
    """Daily sums of plane-of-slope irradiance for plots that share one GHI series [W m-2 · steps].

    The same quantities as :func:`_transpose` summed over each day, factorised: with one GHI series the
    Erbs split and the Hay-Davies (or isotropic) sky terms are the site's (:func:`_shared_site_terms`,
    pvlib on the (steps,) series); only the angle of incidence and the horizon test are the plot's. Per
    step::

        poa = k · max(cos θ, 0) · sunlit  +  V_d · D_iso  +  ρ · GHI · (1 − V_d)
        k = DNI + max(DHI · A, 0) / max(cos Z, 0.01745)     (beam + circumsolar; A = DNI / E0)
        D_iso = max(DHI · (1 − A), 0)                        (isotropic model: A = 0)

    which is what pvlib's ``get_total_irradiance`` and the terrain terms give (the tests compare both
    paths), at a few array operations per plot-step instead of pvlib's full pass.
    """
    beta, gamma = np.radians(slope), np.radians(aspect)
    plane = np.stack([np.cos(beta), np.sin(beta) * np.cos(gamma), np.sin(beta) * np.sin(gamma)])  # (3, plot)
    weighted = np.clip(terms["sun"] @ plane, 0.0, 1.0)                                 # max(cos θ, 0)
    if horizon is not None:
        columns = horizon.T
        low = columns[terms["i0"]]
        weighted *= (terms["elevation"][:, None] - low) >= (columns[terms["i1"]] - low) * terms["frac"]
    weighted *= terms["k"][:, None]
    out = np.zeros((n_day, slope.size))
    if terms["starts"].size:
        out[has_sun] = (np.add.reduceat(weighted, terms["starts"], axis=0)
                        + v_sky[None, :] * terms["iso_day"][:, None]
                        + albedo * (1.0 - v_sky)[None, :] * terms["ghi_day"][:, None])
    return out


def _shared_column_groups(values: np.ndarray, cols: np.ndarray) -> list[np.ndarray]:
    """Groups of ``cols`` whose columns of ``values`` are identical (NaN equal to NaN)."""
    block = values[:, cols]
    filled = np.where(np.isnan(block), -1.0, block)
    fingerprint = np.random.default_rng(0).random(block.shape[0]) @ filled
    _, inverse = np.unique(fingerprint, return_inverse=True)
    groups = []
    for k in range(int(inverse.max()) + 1 if inverse.size else 0):
        members = cols[inverse == k]
        first = filled[:, np.flatnonzero(inverse == k)[:1]]
        same = np.broadcast_to(first, (block.shape[0], members.size))
        if not np.array_equal(filled[:, inverse == k], same):
            return []  # a fingerprint collision: let the caller take the general path
        groups.append(members)
    return groups


def _column_blocks(cols, n_rows, max_elements=None):
    step = max(1, (max_elements or MAX_BLOCK_ELEMENTS) // max(n_rows, 1))
    for start in range(0, cols.size, step):
        yield cols[start:start + step]


def plane_of_slope_irradiance(times, ghi_w_m2, latitude, longitude, slope_deg, aspect_deg, model="haydavies",
                              horizon_deg=None, sky_view_factor=None, albedo=0.2, *,
                              utc_offset_h=CHINA_UTC_OFFSET_H, return_components=False, plot_ids=None):
    """Global irradiance on the plane of each plot's slope from global horizontal irradiance [W m-2].

    For each time step: solar position (pvlib ``get_solarposition``, apparent zenith, once per site),
    Erbs decomposition of GHI into DNI and DHI (``pvlib.irradiance.erbs`` with the apparent zenith and the
    UTC day of year, as pvlib takes it from a tz-aware index), then
    ``pvlib.irradiance.get_total_irradiance`` with ``dni_extra`` from ``get_extra_radiation`` (and the
    Kasten-Young airmass for Perez). Terrain then acts as described in the module notes: beam and
    circumsolar diffuse are 0 while the apparent solar elevation is below the plot's horizon (interpolated
    at the sun's azimuth), the isotropic sky diffuse is ``DHI · V_d`` and the ground term
    ``ρ · GHI · (1 − V_d)`` with ``V_d`` from :func:`tilted_sky_view_factor`. Without a horizon or sky-view
    factor the result is pvlib's ``poa_global``; for a flat, unobstructed surface it is GHI (Perez: up to
    a few W m-2 less while the sun is within 5° of the horizon, where pvlib floors cos Z at cos 85°).

    Parameters
    ----------
    times : array-like of datetimes, shape (n_time,)
        Instants at which GHI applies (for means over an interval give its midpoint). tz-aware, or naive
        local standard time at ``utc_offset_h``.
    ghi_w_m2 : array-like, shape (n_time,) or (n_time, n_plot)
        Global horizontal irradiance [W m-2], not negative; NaN propagates.
    latitude, longitude : float or array-like, shape (n_plot,)
        Plot position [deg N, deg E]. Plots within one :data:`SITE_RESOLUTION_DEG` cell share the solar
        position of their mean location.
    slope_deg, aspect_deg : float or array-like, shape (n_plot,)
        Slope [deg, 0–90] and aspect [deg clockwise from north, the direction the slope faces]; aspect may
        be NaN only on flat plots.
    model : {"haydavies", "perez", "isotropic"}, default "haydavies"
        Sky-diffuse transposition model (pvlib names).
    horizon_deg : array-like, shape (n_plot, n_azimuth) or (n_azimuth,), optional
        Horizon profile [deg] at equally spaced azimuths starting at north (``orchard.terrain``).
    sky_view_factor : float or array-like, shape (n_plot,), optional
        Horizontal cosine-weighted sky-view factor [-], used only when ``horizon_deg`` is not given.
    albedo : float, default 0.2
        Albedo ρ of the surrounding ground [-] (slope.toml ``radiation.albedo``).
    utc_offset_h : float, default 8
        UTC offset [h] of naive ``times`` (China standard time).
    return_components : bool, default False
        Also return ``poa_direct``, ``poa_sky_diffuse`` and ``poa_ground_diffuse``.
    plot_ids : array-like of str, optional
        Plot names used in error messages.

    Returns
    -------
    numpy.ndarray, shape (n_time,) when GHI is 1-D and every plot input a scalar, else (n_time, n_plot)
        Plane-of-slope global irradiance [W m-2]; with ``return_components`` a dict of such arrays with keys
        ``poa_global``, ``poa_direct``, ``poa_sky_diffuse``, ``poa_ground_diffuse``.

    Raises
    ------
    orchard.errors.ParameterError
        Unknown model, albedo outside 0–1.
    orchard.errors.InputError
        Negative GHI, mismatched shapes, missing terrain (NaN slope/aspect/horizon), slope outside 0–90°.

    References
    ----------
    Erbs et al. (1982) Solar Energy 28:293; Hay & Davies (1980); Perez et al. (1990) Solar Energy 44:271;
    Dozier & Frew (1990); pvlib-python 0.16 (Holmgren et al. 2018).
    """
    model = _check_model(model)
    ghi = np.asarray(ghi_w_m2, dtype=float)
    if ghi.ndim not in (1, 2):
        raise InputError(f"ghi_w_m2 has shape {ghi.shape}; give (time,) or (time, plot).")
    index = _local_times(times, utc_offset_h)
    if ghi.shape[0] != index.size:
        raise InputError(f"ghi_w_m2 has {ghi.shape[0]} time steps but times has {index.size}; align them.")
    _check_irradiance("ghi_w_m2", ghi, "W m-2")
    n_col = _n_columns(ghi.shape[1] if ghi.ndim == 2 else None, latitude, longitude, slope_deg, aspect_deg,
                       sky_view_factor, None if horizon_deg is None or np.ndim(horizon_deg) < 2
                       else np.shape(horizon_deg)[0])
    scalar_out = ghi.ndim == 1 and n_col == 1 and (horizon_deg is None or np.ndim(horizon_deg) == 1)
    labels = _labels(plot_ids, n_col)
    lat, lon, slope, aspect, horizon, v_sky = _prepare_terrain(
        n_col, latitude, longitude, slope_deg, aspect_deg, horizon_deg, sky_view_factor, albedo, labels)
    ghi2 = np.broadcast_to(ghi[:, None] if ghi.ndim == 1 else ghi, (index.size, n_col))

    keys = ("poa_global", "poa_direct", "poa_sky_diffuse", "poa_ground_diffuse")
    out = {k: np.empty((index.size, n_col)) for k in keys}
    for site_lat, site_lon, site_cols in _sites(lat, lon):
        zenith, azimuth, dni_extra, doy = _solar(index, site_lat, site_lon)
        for cols in _column_blocks(site_cols, index.size):
            part = _transpose(zenith, azimuth, dni_extra, doy, ghi2[:, cols], slope[cols], aspect[cols],
                              None if horizon is None else horizon[cols], v_sky[cols], float(albedo), model)
            for k in keys:
                out[k][:, cols] = part[k]
    if scalar_out:
        out = {k: v[:, 0] for k, v in out.items()}
    return out if return_components else out["poa_global"]


# --------------------------------------------------------------------------------------------------------
# Daily radiation
# --------------------------------------------------------------------------------------------------------

def daily_plane_of_slope_radiation(dates, rs_mj_m2, latitude, longitude, slope_deg, aspect_deg,
                                   model="haydavies", horizon_deg=None, sky_view_factor=None, albedo=0.2, *,
                                   utc_offset_h=CHINA_UTC_OFFSET_H, step_minutes=60, plot_ids=None,
                                   fast=True):
    """Daily global radiation on each plot's plane and on flat ground from daily measured radiation.

    Each day is cut into steps of ``step_minutes`` (local standard time, 00:00–24:00); the measured total
    is spread over the steps in proportion to the extraterrestrial radiation on a horizontal plane,
    ``GHI_i = Rs · cos Z_i / (Δt · Σ_day cos Z_j)`` for the steps whose midpoint has the sun up (apparent
    zenith < 90°; the sun-earth distance factor is constant within a day and cancels). This keeps the
    measured daily total exactly and gives every step the day's clearness index, so an overcast day stays
    diffuse (low beam fraction in Erbs) and a clear day beam-rich: measured radiation, not clear-sky
    radiation, drives the slope contrast. The steps are transposed with :func:`plane_of_slope_irradiance`
    (solar position once per step and site, at the step midpoints) and summed back to days.

    Parameters
    ----------
    dates : array-like of datetimes, shape (n_day,)
        Local dates (times are floored to the day).
    rs_mj_m2 : array-like, shape (n_day,) or (n_day, n_plot)
        Measured (or sunshine-derived) daily global radiation on a horizontal surface [MJ m-2 d-1];
        NaN gives NaN for that day and plot.
    latitude, longitude, slope_deg, aspect_deg, model, horizon_deg, sky_view_factor, albedo, utc_offset_h,
    plot_ids
        As in :func:`plane_of_slope_irradiance`.
    step_minutes : int, default 60
        Integration step [min]; must divide a day. Hourly steps are within about 1 % of 10-minute steps
        for daily totals (see the tests).
    fast : bool, default True
        Plots with identical radiation series (one station) take a factorised path (see
        :func:`_daily_sums_shared_ghi`) with the same result; False forces the per-plot pvlib pass.

    Returns
    -------
    rs_slope_mj_m2 : numpy.ndarray, same shape as ``rs_mj_m2``
        Daily global radiation on the plot's plane, horizon and sky view included [MJ m-2 d-1].
    rs_flat_mj_m2 : numpy.ndarray, same shape as ``rs_mj_m2``
        Daily global radiation on flat, unobstructed ground: the disaggregated GHI summed back, equal to
        ``rs_mj_m2`` within floating-point rounding [MJ m-2 d-1].

    Raises
    ------
    orchard.errors.InputError
        As :func:`plane_of_slope_irradiance`, and a daily total above the extraterrestrial radiation
        (clearness index > 1: wrong units or unchecked data).

    References
    ----------
    Hourly distribution in proportion to extraterrestrial radiation: FAO-56 (Allen et al. 1998) Eq. 28
    (hourly Ra); Erbs et al. (1982); see :func:`plane_of_slope_irradiance`.
    """
    model = _check_model(model)
    step_minutes = int(step_minutes)
    if step_minutes <= 0 or 1440 % step_minutes:
        raise InputError(f"step_minutes={step_minutes} must divide a day (e.g. 60, 30, 10).")
    rs = np.asarray(rs_mj_m2, dtype=float)
    if rs.ndim not in (1, 2):
        raise InputError(f"rs_mj_m2 has shape {rs.shape}; give (day,) or (day, plot).")
    try:
        days = pd.DatetimeIndex(dates)
    except (TypeError, ValueError) as exc:
        raise InputError(f"dates could not be read as dates ({exc}); give datetimes.") from None
    if days.tz is not None:
        days = days.tz_convert(_dt.timezone(_dt.timedelta(hours=float(utc_offset_h)))).tz_localize(None)
    days = days.floor("D")
    if rs.shape[0] != days.size:
        raise InputError(f"rs_mj_m2 has {rs.shape[0]} days but dates has {days.size}; align them.")
    _check_irradiance("rs_mj_m2", rs, "MJ m-2 d-1")
    n_col = _n_columns(rs.shape[1] if rs.ndim == 2 else None, latitude, longitude, slope_deg, aspect_deg,
                       sky_view_factor, None if horizon_deg is None or np.ndim(horizon_deg) < 2
                       else np.shape(horizon_deg)[0])
    labels = _labels(plot_ids, n_col)
    lat, lon, slope, aspect, horizon, v_sky = _prepare_terrain(
        n_col, latitude, longitude, slope_deg, aspect_deg, horizon_deg, sky_view_factor, albedo, labels)
    rs2 = np.broadcast_to(rs[:, None] if rs.ndim == 1 else rs, (days.size, n_col))
    _check_below_extraterrestrial(rs2, days, lat, labels)

    n_day = days.size
    n_step = 1440 // step_minutes
    dt_s = 60.0 * step_minutes
    midpoints = pd.to_timedelta((np.arange(n_step) + 0.5) * step_minutes, unit="min")
    sample_times = (days.values[:, None] + midpoints.values[None, :]).ravel()
    index = pd.DatetimeIndex(sample_times).tz_localize(_dt.timezone(_dt.timedelta(hours=float(utc_offset_h))))

    rs_slope = np.full((n_day, n_col), np.nan)
    rs_flat = np.full((n_day, n_col), np.nan)
    for site_lat, site_lon, site_cols in _sites(lat, lon):
        zenith, azimuth, dni_extra, doy = _solar(index, site_lat, site_lon)
        cos_z = np.cos(np.radians(zenith[:, 0])).reshape(n_day, n_step)
        up = cos_z > 0.0
        weight = np.where(up, cos_z, 0.0)
        total = weight.sum(axis=1)
        sel = np.flatnonzero(up.ravel())        # daylight steps, in time order
        day_of = sel // n_step
        share = weight.ravel()[sel] / total[day_of]  # fraction of the day's radiation in each step
        counts = np.bincount(day_of, minlength=n_day)
        has_sun = counts > 0
        starts = np.searchsorted(day_of, np.flatnonzero(has_sun))
        geo = (zenith[sel], azimuth[sel], dni_extra[sel], doy[sel])
        # Plots fed by one station share the day's radiation: take the factorised path (same values).
        groups = _shared_column_groups(rs2, site_cols) if model != "perez" and fast else []
        for group in groups:
            day_rs = rs2[:, group[0]]
            ghi = day_rs[day_of] * (share * (_J_PER_MJ / dt_s))
            flat_day = np.zeros(n_day)
            if sel.size:
                flat_day[has_sun] = np.add.reduceat(ghi, starts)
            flat_day = np.where(np.isnan(day_rs), np.nan, flat_day * (dt_s / _J_PER_MJ))
            terms = _shared_site_terms(*geo, ghi, starts, model, 0 if horizon is None else horizon.shape[1])
            for cols in _column_blocks(group, sel.size, FAST_BLOCK_ELEMENTS):
                slope_day = _daily_sums_shared_ghi(terms, has_sun, n_day, slope[cols], aspect[cols],
                                                   None if horizon is None else horizon[cols], v_sky[cols],
                                                   float(albedo))
                rs_slope[:, cols] = np.where(np.isnan(day_rs)[:, None], np.nan,
                                             slope_day * (dt_s / _J_PER_MJ))
                rs_flat[:, cols] = flat_day[:, None]
        for cols in _column_blocks(site_cols if not groups else site_cols[:0], sel.size):
            ghi = rs2[:, cols][day_of] * (share[:, None] * (_J_PER_MJ / dt_s))
            part = _transpose(*geo, ghi, slope[cols], aspect[cols],
                              None if horizon is None else horizon[cols], v_sky[cols], float(albedo), model)
            slope_day = np.zeros((n_day, cols.size))
            flat_day = np.zeros((n_day, cols.size))
            if sel.size:
                slope_day[has_sun] = np.add.reduceat(part["poa_global"], starts, axis=0)
                flat_day[has_sun] = np.add.reduceat(ghi, starts, axis=0)
            rs_slope[:, cols] = slope_day * (dt_s / _J_PER_MJ)
            # days without sun (polar night) receive nothing; NaN input stays NaN
            rs_flat[:, cols] = np.where(np.isnan(rs2[:, cols]), np.nan, flat_day * (dt_s / _J_PER_MJ))
            rs_slope[:, cols] = np.where(np.isnan(rs2[:, cols]), np.nan, rs_slope[:, cols])
    if rs.ndim == 1 and n_col == 1:
        return rs_slope[:, 0], rs_flat[:, 0]
    return rs_slope, rs_flat


# --------------------------------------------------------------------------------------------------------
# Orchestrator
# --------------------------------------------------------------------------------------------------------

def _resolve_parameters(params) -> ParameterSet:
    base = slope_parameters()
    if params is None:
        return base
    if isinstance(params, ParameterSet):
        missing = [k for k in base.entries if k not in params.entries]
        if missing:
            raise ParameterError(f"parameter set '{params.name}' has no '{missing[0]}'; give the slope "
                                 "parameters (growth/parameters/slope.toml, slope_parameters()).")
        return params
    if isinstance(params, Mapping):
        return base.with_overrides(params)
    raise ParameterError(f"params must be a ParameterSet or a dict of overrides, not "
                         f"{type(params).__name__}; pass growth.slope.slope_parameters() or None.")


def _model_from_code(code) -> str:
    if float(code) not in MODEL_CODES:
        raise ParameterError(f"radiation.transposition_model = {code!r} is not a model code; "
                             "use 0 (isotropic), 1 (haydavies) or 2 (perez).")
    return MODEL_CODES[int(code)]


def _terrain_arrays(plots: xr.Dataset, plot_labels: np.ndarray):
    if not isinstance(plots, xr.Dataset) or "plot" not in plots.dims:
        raise InputError("slope_weather needs a plots dataset with a 'plot' dimension "
                         "(orchard.plots.PlotSet.to_dataset()).")
    for name in ("lat", "lon"):
        if name not in plots:
            raise InputError(f"the plots dataset has no '{name}'; give plot centroids in degrees.")
    for name in ("slope_deg", "aspect_deg", "horizon_deg"):
        if name not in plots:
            raise InputError(f"the plots dataset has no '{name}', so the plots have no terrain; "
                             "run `orchard terrain` first.")
    known = pd.Index(np.asarray(plots["plot"].values, dtype=str))
    pos = known.get_indexer(plot_labels)
    if (pos < 0).any():
        raise InputError(f"{_phrase(plot_labels[pos < 0])} weather but no entry in the plots dataset; "
                         "give the plots dataset of the same plots.")
    sel = plots.isel(plot=pos)
    horizon = sel["horizon_deg"].transpose("plot", ...)
    if horizon.ndim != 2:
        raise InputError(f"horizon_deg has dims {horizon.dims}; give (plot, azimuth).")
    n_az = horizon.shape[1]
    az_dim = horizon.dims[1]
    if az_dim in horizon.coords:
        az = np.asarray(horizon[az_dim].values, dtype=float)
        if not np.allclose(az, np.arange(n_az) * (360.0 / n_az), atol=1e-6):
            raise InputError(f"horizon_deg azimuths {az[:3].tolist()}... are not equally spaced from north; "
                             "recompute the terrain with `orchard terrain`.")
    return (sel["lat"].values.astype(float), sel["lon"].values.astype(float),
            sel["slope_deg"].values.astype(float), sel["aspect_deg"].values.astype(float),
            horizon.values.astype(float))


def corrected_temperatures(tmin_flat_c, tmax_flat_c, tmean_flat_c, delta_tmax_c, delta_tmin_c):
    """Daily temperatures on the slope from those on flat ground and the slope offsets [degC].

    ``Tmax = Tmax_flat + dTmax``, ``Tmin = min(Tmin_flat + dTmin, Tmax)``,
    ``Tmean = clip(Tmean_flat + (dTmax + dTmin)/2, Tmin, Tmax)``; a missing offset (NaN: no radiation that
    day) leaves the flat value. Arrays or DataArrays that broadcast; ``tmean_flat_c`` may be None.

    Returns
    -------
    tuple
        ``(tmin_c, tmax_c, tmean_c)`` (``tmean_c`` None when ``tmean_flat_c`` is None).
    """
    d_tmax = np.nan_to_num(delta_tmax_c, nan=0.0) if isinstance(delta_tmax_c, np.ndarray) \
        else delta_tmax_c.fillna(0.0)
    d_tmin = np.nan_to_num(delta_tmin_c, nan=0.0) if isinstance(delta_tmin_c, np.ndarray) \
        else delta_tmin_c.fillna(0.0)
    tmax = tmax_flat_c + d_tmax
    tmin = np.minimum(tmin_flat_c + d_tmin, tmax)
    tmean = None
    if tmean_flat_c is not None:
        tmean = np.minimum(np.maximum(tmean_flat_c + 0.5 * (d_tmax + d_tmin), tmin), tmax)
    return tmin, tmax, tmean


def slope_weather(weather: xr.Dataset, plots: xr.Dataset, params=None, *, model: str | None = None,
                  step_minutes: int = 60) -> xr.Dataset:
    """Daily plot weather corrected for each plot's slope, aspect and horizon.

    Runs :func:`daily_plane_of_slope_radiation` on the measured daily radiation of each plot and adds the
    temperature offsets :func:`tmax_offset_c` / :func:`tmin_offset_c` to the (already lapse-rate corrected)
    temperatures; the mean temperature moves by ``(ΔTmax + ΔTmin)/2``. The uncorrected values are kept
    (``*_flat_*``) so a model can run the flat reference ("same plot on flat ground at the same elevation").

    Parameters
    ----------
    weather : xarray.Dataset
        Daily plot weather with dims (time, plot, ...) as from ``orchard.weather.weather_for_plots``:
        ``rs_mj_m2`` [MJ m-2 d-1], ``tmin_c``, ``tmax_c`` [°C], optional ``tmean_c``; time at local midnight,
        attr ``utc_offset_h`` (default 8). Extra dims (e.g. ``member``) are carried through.
    plots : xarray.Dataset
        Dim ``plot`` (same labels as the weather, any order) with ``lat``, ``lon`` [deg], ``slope_deg``,
        ``aspect_deg`` [deg] and ``horizon_deg`` (plot, azimuth) [deg]; ``sky_view_factor`` is not needed
        because the tilted view factor is integrated from the horizon profile (module notes).
    params : ParameterSet or dict, optional
        Slope parameters (:func:`slope_parameters`, the default) or a dict of overrides of them, e.g.
        ``{"temperature.c_t": 0.25}``.
    model : str, optional
        Transposition model overriding ``radiation.transposition_model``.
    step_minutes : int, default 60
        Integration step of the daily radiation [min].

    Returns
    -------
    xarray.Dataset
        The input dataset with ``rs_slope_mj_m2`` and ``rs_flat_mj_m2`` [MJ m-2 d-1], ``delta_tmax_c`` and
        ``delta_tmin_c`` [°C]; ``tmin_c``, ``tmax_c``, ``tmean_c`` corrected and the originals kept as
        ``tmin_flat_c``, ``tmax_flat_c``, ``tmean_flat_c``; ``rs_mj_m2`` replaced by the plane-of-slope value
        (the original is ``rs_flat_mj_m2``). Where the radiation of a day is missing the offsets are NaN and
        the temperatures stay uncorrected (counted in the attr ``slope_days_uncorrected``). A corrected
        ``tmin_c`` is capped at ``tmax_c`` and ``tmean_c`` kept between them. Attrs record the model,
        parameter values and hash, and the definitions used.

    Raises
    ------
    orchard.errors.InputError
        Missing variables or dims, plots without terrain (named), negative radiation, hourly data.
    orchard.errors.ParameterError
        Bad parameter set or model name.
    """
    if not isinstance(weather, xr.Dataset) or "time" not in weather.dims or "plot" not in weather.dims:
        raise InputError("slope_weather needs daily plot weather with dims (time, plot) "
                         "(orchard.weather.weather_for_plots).")
    if weather.attrs.get("resolution", "daily") != "daily":
        raise InputError(f"slope_weather needs daily weather, got {weather.attrs.get('resolution')!r} data; "
                         "aggregate it with orchard.weather.daily_from_hourly first.")
    for name in ("rs_mj_m2", "tmin_c", "tmax_c"):
        if name not in weather:
            hint = (" (derive it from sunshine hours with orchard.weather.radiation_from_sunshine)"
                    if name == "rs_mj_m2" else "")
            raise InputError(f"the weather has no '{name}'{hint}; the slope correction needs rs_mj_m2, "
                             "tmin_c and tmax_c.")
    ps = _resolve_parameters(params)
    if model is None:
        model = _model_from_code(ps["radiation.transposition_model"])
    model = _check_model(model)
    c_t = float(ps["temperature.c_t"])
    tmin_fraction = float(ps["temperature.tmin_fraction"])
    albedo = float(ps["radiation.albedo"])
    utc_offset_h = float(weather.attrs.get("utc_offset_h", CHINA_UTC_OFFSET_H))

    plot_labels = np.asarray(weather["plot"].values, dtype=str)
    lat, lon, slope, aspect, horizon = _terrain_arrays(plots, plot_labels)

    rs = weather["rs_mj_m2"]
    extra = [d for d in rs.dims if d not in ("time", "plot")]
    rs = rs.transpose("time", "plot", *extra)
    n_time, n_plot = rs.shape[:2]
    n_rep = int(np.prod(rs.shape[2:], dtype=np.int64))
    col_plot = np.repeat(np.arange(n_plot), n_rep)  # columns run plot-major over the extra dims
    values = rs.values.reshape(n_time, n_plot * n_rep)
    rs_slope, rs_flat = daily_plane_of_slope_radiation(
        weather["time"].values, values, lat[col_plot], lon[col_plot], slope[col_plot], aspect[col_plot],
        model=model, horizon_deg=horizon[col_plot], sky_view_factor=None, albedo=albedo,
        utc_offset_h=utc_offset_h, step_minutes=step_minutes, plot_ids=plot_labels[col_plot])
    if rs_slope.ndim == 1:
        rs_slope, rs_flat = rs_slope[:, None], rs_flat[:, None]
    rs_slope_da = xr.DataArray(rs_slope.reshape(rs.shape), dims=rs.dims, coords=rs.coords)
    rs_flat_da = xr.DataArray(rs_flat.reshape(rs.shape), dims=rs.dims, coords=rs.coords)

    d_tmax = tmax_offset_c(rs_slope_da, rs_flat_da, c_t)
    d_tmin = tmin_offset_c(d_tmax, tmin_fraction)
    missing = d_tmax.isnull() & weather["tmax_c"].notnull()

    out = weather.copy()
    out["rs_flat_mj_m2"] = rs_flat_da.assign_attrs(
        units="MJ m-2 d-1", long_name="daily global radiation on flat unobstructed ground (measured)")
    out["rs_slope_mj_m2"] = rs_slope_da.assign_attrs(
        units="MJ m-2 d-1", long_name="daily global radiation on the plot's sloping surface",
        transposition_model=model)
    out["rs_mj_m2"] = rs_slope_da.assign_attrs(
        units="MJ m-2 d-1", long_name="daily global radiation on the plot's surface (slope corrected)",
        transposition_model=model)
    out["delta_tmax_c"] = d_tmax.assign_attrs(
        units="degC", long_name="slope/aspect offset of daily maximum temperature against flat ground",
        c_t=c_t)
    out["delta_tmin_c"] = d_tmin.assign_attrs(
        units="degC", long_name="slope/aspect offset of daily minimum temperature against flat ground",
        tmin_fraction=tmin_fraction)

    flat = {}
    for name in ("tmin_c", "tmax_c", "tmean_c"):
        if name in weather:
            flat[name] = weather[name]
            attrs = dict(weather[name].attrs)
            attrs["long_name"] = f"{attrs.get('long_name', name)} on flat ground at the plot's elevation"
            out[name.replace("_c", "_flat_c")] = weather[name].assign_attrs(attrs)
    corrected = dict(zip(("tmin_c", "tmax_c", "tmean_c"),
                         corrected_temperatures(flat["tmin_c"], flat["tmax_c"], flat.get("tmean_c"),
                                                d_tmax, d_tmin), strict=True))
    if corrected["tmean_c"] is None:
        del corrected["tmean_c"]
    for name, da in corrected.items():
        attrs = dict(weather[name].attrs)
        attrs["long_name"] = f"{attrs.get('long_name', name)} on the plot's slope"
        attrs["slope_correction"] = "flat value + offset from radiation on the slope (growth.slope)"
        out[name] = da.transpose(*weather[name].dims).assign_attrs(attrs)

    out.attrs.update({
        "slope_transposition_model": model,
        "slope_c_t_degc_per_mj_m2": c_t,
        "slope_tmin_fraction": tmin_fraction,
        "slope_albedo": albedo,
        "slope_parameter_hash": ps.hash,
        "slope_step_minutes": int(step_minutes),
        "slope_days_uncorrected": int(missing.sum()),
        "slope_flat_reference": "horizontal surface at the same place and elevation, same weather, no "
                                "horizon obstruction (= the measured radiation)",
        "slope_sky_view": "isotropic sky diffuse x tilted-surface sky-view factor integrated from the "
                          "horizon profile (Dozier & Frew 1990); ground term albedo x GHI x (1 - it)",
        "slope_solar_position": f"once per time step per {SITE_RESOLUTION_DEG} deg cell of plots (pvlib "
                                "get_solarposition, apparent zenith)",
        "slope_temperature_rule": "dTmax = c_t (H_slope - H_flat), dTmin = tmin_fraction dTmax, "
                                  "dTmean = (dTmax + dTmin)/2; lapse rate applied before, not here",
    })
    out.attrs["source"] = (f"{weather.attrs.get('source', '')}; slope/aspect corrected "
                           f"({model}, c_t {c_t:g})").lstrip("; ")
    return out
