"""Orchard carbon balance: light interception, canopy assimilation, maintenance respiration, supply/demand.

Pure functions on numpy arrays, daily time step, per hectare of orchard. Carbon in kg CO2 ha⁻¹ d⁻¹.
Science notes section 6 (AMAX, Q10, Beer's law with canopy cover, WOFOST respiration).
"""

from __future__ import annotations

import numpy as np

__all__ = ["canopy_gross_assimilation", "daily_assimilation", "light_interception",
           "maintenance_respiration", "supply_demand_ratio", "temperature_response"]


def light_interception(canopy_cover, leaf_area_index, extinction_coefficient=0.6):
    """Fraction of incoming PAR intercepted by an orchard of discrete tree crowns.

    ``F = Fmax (1 − exp(−k L / Fmax))`` with Fmax the canopy (crown) cover and L the orchard LAI, i.e.
    ``L = LAI_crown · Fmax`` (Jackson, *Acta Hort.* 114, orchard light-interception model).

    Parameters
    ----------
    canopy_cover : array_like
        Fraction of ground covered by crowns, Fmax [-].
    leaf_area_index : array_like
        LAI within the crowns [m² m⁻²].
    extinction_coefficient : array_like
        k [-].

    Returns
    -------
    numpy.ndarray
        Intercepted fraction of PAR [-].
    """
    cover = np.clip(np.asarray(canopy_cover, dtype=float), 1e-6, 1.0)
    orchard_lai = np.asarray(leaf_area_index) * cover
    return cover * (1.0 - np.exp(-extinction_coefficient * orchard_lai / cover))


def temperature_response(t_c, t_min=7.0, t_opt_low=20.0, t_opt_high=32.0, t_max=42.0):
    """Trapezoidal temperature response of citrus leaf assimilation (0 outside (t_min, t_max), 1 on the
    plateau).

    Plateau from the satsuma/Ponkan optima (*J. Jpn. Soc. Hort. Sci.* 54(3):315–322, 1985); see the
    parameter file for the sources of the end points.
    """
    t = np.asarray(t_c, dtype=float)
    rise = (t - t_min) / (t_opt_low - t_min)
    fall = (t_max - t) / (t_max - t_opt_high)
    return np.clip(np.minimum(rise, fall), 0.0, 1.0)


def canopy_gross_assimilation(par_w_m2, amax, light_use_efficiency, extinction_coefficient, leaf_area_index):
    """Instantaneous gross assimilation of a canopy of rectangular-hyperbola leaves under Beer's law.

    Integrating the leaf response ``P = Amax ε I / (Amax + ε I)`` with ``I(L) = k I0 exp(−k L)`` over the
    leaf area gives (Acock et al. 1978, *J. Exp. Bot.* 29:815–827)

    ``P_c = (Amax / k) · ln[(Amax + ε k I0) / (Amax + ε k I0 exp(−k LAI))]``

    Parameters
    ----------
    par_w_m2 : array_like
        PAR above the crowns [J m⁻² s⁻¹].
    amax : array_like
        Leaf AMAX [kg CO2 ha⁻¹ h⁻¹] (already multiplied by the temperature response).
    light_use_efficiency : array_like
        ε [(kg CO2 ha⁻¹ h⁻¹)/(J m⁻² s⁻¹)].
    extinction_coefficient, leaf_area_index : array_like
        k [-], crown LAI [m² m⁻²].

    Returns
    -------
    numpy.ndarray
        Gross assimilation per hectare of crown [kg CO2 ha⁻¹ h⁻¹].
    """
    amax = np.maximum(np.asarray(amax, dtype=float), 1e-9)
    top = light_use_efficiency * extinction_coefficient * np.maximum(np.asarray(par_w_m2, dtype=float), 0.0)
    ratio = (amax + top) / (amax + top * np.exp(-extinction_coefficient * leaf_area_index))
    return amax / extinction_coefficient * np.log(ratio)


def daily_assimilation(rs_mj_m2, daylength_h, tmean_c, canopy_cover, *, amax, light_use_efficiency,
                       extinction_coefficient, leaf_area_index, par_fraction=0.5, t_min=7.0, t_opt_low=20.0,
                       t_opt_high=32.0, t_max=42.0):
    """Daily gross assimilation of an orchard from daily global radiation.

    The day's PAR is spread evenly over the daylight hours (a daily big-leaf simplification: it slightly
    over-estimates assimilation on clear days, since the light response is concave), the crown canopy
    assimilates per :func:`canopy_gross_assimilation` with AMAX scaled by :func:`temperature_response`, and
    the orchard total is the crown rate times the crown cover.

    Parameters
    ----------
    rs_mj_m2 : array_like
        Global radiation on the plot [MJ m⁻² d⁻¹].
    daylength_h : array_like
        Daylength [h].
    tmean_c : array_like
        Mean air temperature [°C].
    canopy_cover : array_like
        Crown cover [-].

    Returns
    -------
    numpy.ndarray
        Gross assimilation [kg CO2 ha⁻¹ d⁻¹].
    """
    daylength = np.maximum(np.asarray(daylength_h, dtype=float), 1.0)
    par = par_fraction * np.asarray(rs_mj_m2, dtype=float) * 1e6 / (daylength * 3600.0)
    amax_t = amax * temperature_response(tmean_c, t_min, t_opt_low, t_opt_high, t_max)
    per_hour = canopy_gross_assimilation(par, amax_t, light_use_efficiency, extinction_coefficient,
                                         leaf_area_index)
    return per_hour * daylength * np.clip(canopy_cover, 0.0, 1.0)


def maintenance_respiration(tmean_c, maintenance_25, canopy_cover, q10=2.0):
    """Maintenance respiration scaled by cover and temperature, ``R = R25 · cover · Q10^((T − 25)/10)``.

    WOFOST 7.2 form (PCSE ``crop/respiration.py``) with the organ sums lumped into one orchard coefficient.

    Returns
    -------
    numpy.ndarray
        Respiration [kg CO2 ha⁻¹ d⁻¹].
    """
    t = np.asarray(tmean_c, dtype=float)
    return maintenance_25 * np.clip(canopy_cover, 0.0, 1.0) * q10 ** ((t - 25.0) / 10.0)


def supply_demand_ratio(gross, respiration, demand):
    """Carbon supply/demand ratio: net assimilation over growth demand (0 when respiration exceeds supply)."""
    net = np.maximum(np.asarray(gross, dtype=float) - respiration, 0.0)
    return net / np.maximum(np.asarray(demand, dtype=float), 1e-9)
