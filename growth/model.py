"""The growth model's one orchestrator: plot weather + plots + cultivar parameters -> daily growth per plot.

``run`` moves station weather onto each plot's slope (``growth.slope``), then runs the season for all plots at
once (numpy arrays of shape (time, plot), chunked over plots to bound memory):

    thermal time ─┬─ induction hours ── warm-spell trigger (CFMS); hours at 11-15 °C ── flowering intensity
                  ├─ bloom (heat sum from 1 Feb) ── bud break (not before 1 Mar), flush cohorts, petal fall
                  ├─ carbon: interception → assimilation − respiration → supply/demand ─┐
                  │                                       water stress Ks, nitrogen N ──┴→ fruit clock
                  ├─ fruit diameter: logistic of the effective clock, each day's growth scaled to the final
                  │  size the season allows (crop load, water deficit, heat days, carbon)
                  └─ TSS (quality clock + autumn weather), TA (falls every day at the fruit's temperature)
                     → maturity (TA, ratio, TSS, minimum fruit age); cool nights → colour break

and once more on the flat-ground weather of the same plot (same elevation, horizontal, unobstructed) to
report how many days the slope delays maturity.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from growth import carbon, cultivars, fruit, phenology, slope, thermal
from orchard import params as orchard_params
from orchard.errors import InputError
from orchard.plots import PlotSet
from orchard.weather import daylight_hours, diurnal_temperature, neighbour_day, solar_time_h

__all__ = ["MODEL_NAME", "MODEL_VERSION", "bloom_year_of", "run", "season_start", "simulate"]

MODEL_NAME = "citrus-growth"
MODEL_VERSION = "0.1.0"
#: Plots simulated together; bounds memory (a (365, 5000) float64 array is 15 MB).
PLOT_CHUNK = 5000
#: Crown cover used where a plot has none recorded.
DEFAULT_CANOPY_COVER = 0.6
#: Last day of year on which induction hours are counted (30 April): induction matters from its start in
#: autumn to the spring trigger, and the hourly reconstruction is the costly part of the model.
INDUCTION_LAST_DOY = 121
#: Odds f/(1 − f) of the logistic fraction f = 0.8 at which fruit stage III (maturation) starts.
STAGE3_ODDS = 4.0
#: Flowering induction: hours at 11-15 °C counted from 1 November (Valiente & Albrigo 2004).
FLOWER_HOURS_START_DOY = 305


def bloom_year_of(day) -> int:
    """The season a day belongs to, named by the year of the bloom of the fruit then on the tree.

    From April (fruit set) the season is the current year's; January to March belong to the previous year's
    fruit, which late cultivars still carry (late navels and Valencias are harvested into spring).
    """
    day = pd.Timestamp(day)
    return day.year if day.month >= 4 else day.year - 1


def season_start(bloom_year: int) -> pd.Timestamp:
    """First day of a season's simulation: 1 October before the bloom, when flower induction starts."""
    return pd.Timestamp(year=bloom_year - 1, month=10, day=1)


def _first_doy_index(doy: np.ndarray, target: int, after: int = 0) -> int:
    hits = np.flatnonzero((doy == target) & (np.arange(doy.size) >= after))
    return int(hits[0]) if hits.size else -1


def _date(times: pd.DatetimeIndex, index: np.ndarray) -> np.ndarray:
    values = np.full(index.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = index >= 0
    values[ok] = times.values[index[ok]]
    return values


def _hours_below_daily(tmin_c, tmax_c, days, lat, lon, doy, threshold_c, utc_offset_h) -> np.ndarray:
    """Hours below the induction threshold on the given days, from the foundation's diurnal model.

    A day's hourly curve runs between its own, the previous and the next day's extremes, so days whose every
    bound lies below (or above) the threshold are counted without reconstructing their hours.
    """
    tmin_prev, tmin_next = neighbour_day(tmin_c, 1)[days], neighbour_day(tmin_c, -1)[days]
    tmax_prev = neighbour_day(tmax_c, 1)[days]
    tmin, tmax = tmin_c[days], tmax_c[days]
    threshold = np.broadcast_to(threshold_c, tmin.shape)
    high = np.maximum(np.maximum(tmax, tmax_prev), tmin_next)
    low = np.minimum(np.minimum(tmin, tmin_next), tmin_prev)
    hours = np.where(high < threshold, 24.0, 0.0)
    mixed = ~(high < threshold) & ~(low >= threshold)
    d_idx, p_idx = np.nonzero(mixed)
    if d_idx.size:
        # float32: hours are counted against a threshold, and single precision runs the exp/sin ~2.5x faster
        f32 = np.float32
        day_doy = doy[days][d_idx].astype(float)
        lat_k, lon_k = lat[p_idx], lon[p_idx]
        daylen = np.clip(daylight_hours(lat_k, day_doy), 1.0, 23.0)[:, None]
        daylen_prev = np.clip(daylight_hours(lat_k, day_doy - 1.0), 1.0, 23.0)[:, None]
        # solar time is clock time plus a per-day shift (FAO-56 Eq. 31): compute the shift once per pair
        sol = (solar_time_h(0.0, day_doy, lon_k, utc_offset_h).astype(f32)[:, None]
               + np.arange(24, dtype=f32)[None, :])
        t = diurnal_temperature(*(a[d_idx, p_idx][:, None].astype(f32) for a in (tmin, tmax, tmin_next,
                                                                                 tmax_prev, tmin_prev)),
                                sol, daylen.astype(f32), daylen_prev.astype(f32))
        hours[d_idx, p_idx] = thermal.hours_below(t, threshold[d_idx, p_idx][:, None], axis=1)
    return hours


def simulate(tmin_c, tmax_c, rs_mj_m2, times, lat, lon, canopy_cover, p: Mapping[str, np.ndarray], *, ks=None,
             n_status=None, utc_offset_h=8.0, quality_only=False, precip_mm=None,
             young=False) -> dict[str, np.ndarray]:
    """One season for many plots on numpy arrays (the model core; ``run`` wraps it in xarray).

    Parameters
    ----------
    tmin_c, tmax_c, rs_mj_m2 : numpy.ndarray, shape (time, plot)
        Daily weather on the plot [°C, °C, MJ m⁻² d⁻¹].
    times : pandas.DatetimeIndex
        The days (consecutive).
    lat, lon, canopy_cover : numpy.ndarray, shape (plot,)
        Latitude, longitude [deg]; crown cover [-].
    p : mapping
        Parameter arrays of shape (plot,) by key (``growth.cultivars.parameter_arrays``).
    ks, n_status : numpy.ndarray, optional, broadcastable to (time, plot)
        Water-stress coefficient and nitrogen status index (1 = no stress).
    quality_only : bool
        Only phenology and quality (the flat-ground reference, expected dates): no induction hours, carbon or
        fruit size; stage III then starts on the unstressed fruit clock.
    precip_mm : numpy.ndarray, optional, shape (time, plot)
        Daily rain [mm] for the October-rain term of TSS; None or NaN days count as the reference rain.
    young : numpy.ndarray of bool, shape (plot,)
        Young (non-bearing, < ``flush.young_tree_years`` old) trees: more flush cohorts.

    Returns
    -------
    dict of numpy arrays: daily (time, plot) series and per-plot day indices (−1 = not reached).
    """
    n_time, n_plot = tmin_c.shape
    doy = times.day_of_year.to_numpy()
    out: dict[str, np.ndarray] = {}
    method = int(round(float(np.median(p["thermal.method"]))))
    gdd = thermal.thermal_time(tmin_c, tmax_c, p["thermal.base_temperature"], p["thermal.upper_temperature"],
                               method)
    out["gdd_c_d"] = gdd

    # Flower-bud induction: hours below 20 °C from the foundation's diurnal model, autumn to spring only.
    bloom_start = _first_doy_index(doy, int(p["bloom.start_doy"][0]))
    # the calendar day of the start day of year in a common year (1 October is day 275 in a leap year)
    start_day = pd.Timestamp(2001, 1, 1) + pd.Timedelta(days=int(p["induction.start_doy"][0]) - 1)
    induction_start = int(phenology.first_index((times.month == start_day.month)
                                                 & (times.day == start_day.day)))
    if induction_start > bloom_start >= 0 or induction_start < bloom_start - 366:
        induction_start = -1
    window = (doy >= int(p["induction.start_doy"][0])) | (doy <= INDUCTION_LAST_DOY)
    hours_below = np.zeros_like(gdd)
    if quality_only:  # induction does not move the maturity dates; skip the hourly reconstruction
        induction_start = -1
    if induction_start >= 0 and window.any():
        days = np.flatnonzero(window)
        threshold = np.broadcast_to(p["induction.threshold_temperature"], (n_plot,))
        # Plots whose inputs on these days (and their neighbours) are identical get identical hours: weather
        # members share the observed autumn and winter, so count each distinct column once.
        near = np.unique(np.clip(np.concatenate([days - 1, days, days + 1]), 0, n_time - 1))
        key = np.vstack([tmin_c[near], tmax_c[near], lat[None, :], lon[None, :], threshold[None, :]])
        _, first, inverse = np.unique(np.nan_to_num(key.T, nan=-999.0), axis=0, return_index=True,
                                      return_inverse=True)
        inverse = np.ravel(inverse)
        hours = _hours_below_daily(tmin_c[:, first], tmax_c[:, first], days, lat[first], lon[first], doy,
                                   threshold[first], utc_offset_h)
        hours_below[days] = hours[:, inverse]
    induction = phenology.induction_hours(hours_below, np.full(n_plot, induction_start))
    out["induction_h"] = induction if induction_start >= 0 else np.full_like(gdd, np.nan)
    out["trigger_index"] = phenology.warm_spell_trigger(
        tmax_c, induction, p["induction.required_hours"], p["induction.trigger_tmax"][0],
        int(p["induction.trigger_days"][0])) if induction_start >= 0 else np.full(n_plot, -1)

    # Bloom: heat sum above the bloom base temperature from 1 February (立春; He 2012: flowering follows the
    # February-March temperatures); bud break and the spring flush a month before, not before 1 March.
    tmean = (tmin_c + tmax_c) / 2.0
    bloom_heat = thermal.thermal_time(tmin_c, tmax_c, p["bloom.base_temperature"],
                                      p["thermal.upper_temperature"], 1)
    out["bloom_heat_c_d"] = bloom_heat
    since_start = phenology.thermal_time_since(bloom_heat, np.full(n_plot, bloom_start))
    with np.errstate(invalid="ignore"):
        bloom = phenology.first_index(since_start >= p["bloom.required_gdd"])
    day = np.arange(n_time)[:, None]
    earliest = phenology.first_index((day >= max(bloom_start, 0))
                                     & (doy[:, None] >= p["flush.spring_earliest_doy"]))
    bud_break = np.where(bloom >= 0, np.maximum(np.maximum(bloom - p["bloom.bud_break_days"].astype(int), 0),
                                                np.where(earliest >= 0, earliest, 0)), -1)
    bud_break = np.where(bloom >= 0, np.minimum(bud_break, bloom), -1)
    since_bloom = phenology.thermal_time_since(gdd, bloom)
    with np.errstate(invalid="ignore"):
        petal_fall = phenology.first_index(since_bloom >= p["fruit.petal_fall_gdd"])
        cell_division_end = phenology.first_index(since_bloom >= p["fruit.cell_division_gdd"])
    out.update(bloom_index=bloom, bud_break_index=bud_break, petal_fall_index=petal_fall,
               fruit_set_index=cell_division_end, gdd_since_bloom_c_d=since_bloom)
    # Flowering intensity: CFMS sufficiency of the hours below 20 °C times the saturating response to the
    # winter's hours at 11-15 °C (Valiente & Albrigo 2004; growth-realism.md section 6).
    if induction_start >= 0:
        band_days = (day >= induction_start) & (day < max(bloom_start, 0)) & (
            (doy[:, None] >= FLOWER_HOURS_START_DOY) | (doy[:, None] < 100))
        band_hours = np.nansum(np.where(band_days, thermal.hours_between_sine(
            tmin_c, tmax_c, p["induction.band_low_temperature"], p["induction.band_high_temperature"]), 0.0),
            axis=0)
        sufficiency = np.minimum(induction[np.maximum(bloom, 0), np.arange(n_plot)]
                                 / p["induction.required_hours"], 1.0)
        intensity = sufficiency * (1.0 - np.exp(-band_hours / p["induction.band_half_hours"]))
    else:
        intensity = np.full(n_plot, np.nan)
    out["flowering_intensity"] = np.where(bloom >= 0, intensity, np.nan)

    # Quality: TSS from its own thermal clock plus the autumn weather of the season; TA falls every day
    # at a temperature-dependent rate (never stops in winter), so the ratio keeps rising to maturity.
    gdd_quality = thermal.thermal_time(tmin_c, tmax_c, p["quality.base_temperature"],
                                       p["thermal.upper_temperature"], method)
    tau_quality = phenology.thermal_time_since(gdd_quality, bloom)
    brix = fruit.tss_brix(tau_quality, p["quality.tss_intercept"], p["quality.tss_slope"],
                          p["quality.tss_curvature"])
    brix = brix + fruit.tss_season_offset(
        tmean, precip_mm, doy, bloom, window_start_doy=p["quality.tss_window_start_doy"],
        window_days=p["quality.tss_window_days"], rain_start_doy=p["quality.tss_rain_start_doy"],
        rain_days=p["quality.tss_rain_days"], temperature_ref_c=p["quality.tss_temperature_ref"],
        temperature_coef=p["quality.tss_temperature_coef"], rain_ref_mm=p["quality.tss_rain_ref"],
        rain_coef=p["quality.tss_rain_coef"])
    # TA falls from full bloom on (a start at fruit set, a degree-day threshold, added 3-4 days per 100 m of
    # elevation to maturity); acid is catabolised at the fruit's temperature, which sunlight raises.
    fruit_t = tmean + p["quality.fruit_radiation_warming"] * np.nan_to_num(rs_mj_m2)
    acid = fruit.acid_decline_pct(fruit_t, bloom, p["quality.acid_initial"], p["quality.acid_final"],
                                  p["quality.acid_rate_15c"], p["quality.acid_q10"])

    # Stage III starts when the potential diameter reaches 80 % of its range, τ = τm + ln(4)/r: October after
    # an April bloom, when expansion slows (Bain 1958; at 90 % the clock's winter stall put it in spring).
    stage3_tau = p["fruit.midpoint_gdd"] + np.log(STAGE3_ODDS) / p["fruit.growth_rate"]
    concentration = 1.0
    if not quality_only:
        daylength = daylight_hours(lat[None, :], doy[:, None].astype(float))
        gross = carbon.daily_assimilation(
            rs_mj_m2, daylength, tmean, canopy_cover, amax=p["carbon.amax"],
            light_use_efficiency=p["carbon.light_use_efficiency"],
            extinction_coefficient=p["carbon.extinction_coefficient"],
            leaf_area_index=p["carbon.leaf_area_index"], par_fraction=p["carbon.par_fraction"],
            t_min=p["carbon.temperature_min"], t_opt_low=p["carbon.temperature_opt_low"],
            t_opt_high=p["carbon.temperature_opt_high"], t_max=p["carbon.temperature_max"])
        ks_arr = np.ones_like(gdd) if ks is None else np.broadcast_to(ks, gdd.shape)
        n_arr = np.ones_like(gdd) if n_status is None else np.broadcast_to(n_status, gdd.shape)
        gross = gross * np.clip(1.0 - p["water.assimilation_sensitivity"] * (1.0 - ks_arr), 0.0, 1.0) \
            * np.clip(1.0 - p["nitrogen.assimilation_sensitivity"] * (1.0 - n_arr), 0.0, 1.0)
        respiration = carbon.maintenance_respiration(tmean, p["carbon.maintenance_25"], canopy_cover,
                                                      p["carbon.q10"])
        # Demand peaks with the fruit's potential expansion (the logistic's bell in thermal time).
        half_x = p["fruit.growth_rate"] * (since_bloom - p["fruit.midpoint_gdd"]) / 2.0
        bell = np.where(np.isnan(since_bloom), 0.0, 1.0 / np.cosh(np.nan_to_num(half_x)) ** 2)
        demand = p["carbon.growth_demand"] * np.clip(canopy_cover, 0.0, 1.0) * np.maximum(
            bell, p["carbon.demand_base_fraction"])
        ratio_sd = carbon.supply_demand_ratio(gross, respiration, demand)
        # Reserves buffer single dull days: the fruit responds to the 7-day mean ratio.
        ratio_7d = phenology.running_mean(ratio_sd, 7)
        modifier = fruit.growth_modifier(ks_arr, p["fruit.water_sensitivity"], ratio_7d,
                                         p["carbon.sufficient_ratio"])
        started = ~np.isnan(since_bloom)
        tau_fruit = fruit.effective_thermal_time(gdd, modifier, started)
        with np.errstate(invalid="ignore"):
            stage3 = phenology.first_index(tau_fruit >= stage3_tau)
            in_set = started & ~(day >= np.where(cell_division_end >= 0, cell_division_end, n_time))
        set_limit = np.where(in_set, np.minimum(modifier, 1.0), np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # plots that never bloom: mean of nothing
            set_modifier = np.nanmean(set_limit, axis=0)
        # Fruit set falls as flowers compete (fraction x (F/Fref)^-c): more flowers, lower set, partly
        # compensating, so the crop load (flowers x set) follows (F/Fref)^(1-c).
        flowers = np.nan_to_num(out["flowering_intensity"] / p["induction.reference_intensity"], nan=1.0)
        compensation = np.maximum(flowers, 1e-6) ** -p["fruit.set_compensation"]
        out["fruit_set_fraction"] = p["fruit.set_fraction"] * set_modifier * compensation
        # Final size the season allows, day by day: crop load (flowers x set, from fruit set on), then water
        # deficit, heat days and carbon shortage accumulated in stages I-II (growth-realism.md section 2.2).
        relative_load = set_modifier * flowers * compensation
        load = np.where(_after_index(cell_division_end, n_time),
                        fruit.crop_load_factor(relative_load, p["fruit.load_sensitivity"]), 1.0)
        # Stress counts in proportion to how fast the fruit could grow that day: weight (4 L (1 - L))^2 on the
        # logistic fraction L of the fruit clock (1 at the midpoint of stage II, ~0.1 at 90 %), so no cut-off
        # date decides whether a dry autumn counts.
        with np.errstate(over="ignore"):
            fraction = 1.0 / (1.0 + np.exp(-p["fruit.growth_rate"] * (tau_fruit - p["fruit.midpoint_gdd"])))
        weight = np.where(started, (4.0 * fraction * (1.0 - fraction)) ** 2, 0.0)
        after_set = _after_index(cell_division_end, n_time)
        deficit_days = phenology.cumsum_days(np.where(after_set, (1.0 - ks_arr) * weight, 0.0))
        heat_flags = thermal.heat_stress_days(tmin_c, tmax_c)
        heat_days = phenology.cumsum_days(np.where(started, heat_flags * weight, 0.0))
        carbon_met = np.minimum(np.nan_to_num(ratio_7d, nan=1.0) / p["carbon.sufficient_ratio"], 1.0)
        weight_sum = phenology.cumsum_days(np.where(after_set, weight, 0.0))
        carbon_sum = phenology.cumsum_days(np.where(after_set, carbon_met * weight, 0.0))
        carbon_mean = np.where(weight_sum > 0, carbon_sum / np.maximum(weight_sum, 1e-12), 1.0)
        size_factor = fruit.potential_size_factor(
            deficit_days, heat_days, carbon_mean, water_sensitivity=p["fruit.size_water_sensitivity"],
            heat_sensitivity=p["fruit.size_heat_sensitivity"],
            carbon_exponent=p["fruit.size_carbon_exponent"])
        potential = p["fruit.final_diameter"] * load * size_factor
        diameter = fruit.diameter_with_potential(fraction, p["fruit.initial_diameter"], potential)
        # Water deficit and small fruit concentrate sugar and acid alike (ratio nearly unchanged: Hutton,
        # Landsberg & Sutton 2007; large fruit lower TSS and TA: Xi et al. 2016).
        concentration = 1.0 + p["quality.concentration_water"] * deficit_days \
            + p["quality.concentration_size"] * np.clip(1.0 - potential / p["fruit.final_diameter"], 0.0,
                                                         None)
        out.update(assimilation_kg_co2_ha_d=gross, respiration_kg_co2_ha_d=respiration,
                   carbon_supply_demand=ratio_sd, fruit_growth_modifier=np.where(started, modifier, np.nan),
                   fruit_diameter_mm=diameter, fruit_expansion_mm_d=np.where(started, fruit.expansion_rate(
                       np.where(started, diameter, p["fruit.initial_diameter"])), np.nan),
                   ks=ks_arr, heat_stress_days=np.nansum(np.where(
                       started & ~_after_index(stage3, n_time), heat_flags, 0.0), axis=0),
                   fruit_potential_diameter_mm=np.where(started, potential, np.nan),
                   fruit_load_relative=np.where(bloom >= 0, relative_load, np.nan))
        out["fruit_volume_cm3"] = fruit.fruit_volume_cm3(diameter)
    else:
        with np.errstate(invalid="ignore"):
            stage3 = phenology.first_index(since_bloom >= stage3_tau)
    # Maturity is decided on the fruit's age and on the sugar and acid kinetics before concentration (not on
    # the fruit-size clock's stage III, which stalls in winter): the flat-ground reference and the dates-only
    # runs then give the same dates as the full run, and dry spells cannot move maturity by weeks through
    # the size clock. Concentration raises the reported TSS and TA alike (ratio unchanged).
    maturity = phenology.maturity_index(
        brix / acid, brix, bloom, p["maturity.ratio_required"], p["maturity.tss_required"],
        bloom_index=bloom, min_days_after_bloom=p["maturity.min_days_after_bloom"], acid_pct=acid,
        acid_max_pct=p["maturity.acid_max"], window_days=int(p["maturity.window_days"][0]))
    brix, acid = brix * concentration, acid * concentration
    out.update(brix=brix, acid_pct=acid, ratio=brix / acid)
    colour_break = phenology.colour_break_index(tmin_c, stage3, p["colour.night_temperature"],
                                                p["colour.cool_sum_required"])
    out.update(stage3_index=stage3, maturity_index=maturity, colour_break_index=colour_break)
    out["stage"] = phenology.stage_codes(n_time, bud_break, bloom, petal_fall, cell_division_end, stage3,
                                         maturity)
    if not quality_only:
        starts = phenology.flush_cohorts(
            gdd, doy, bud_break, interval_gdd=p["flush.interval_gdd"],
            summer_flushes=int(p["flush.summer_flushes"][0]), autumn_start_doy=p["flush.autumn_start_doy"],
            last_start_doy=p["flush.last_start_doy"], young=young)
        durations = np.concatenate([p["flush.spring_duration_days"][None, :],
                                    np.broadcast_to(p["flush.duration_days"], (starts.shape[0] - 1, n_plot))])
        age, active = phenology.flush_age(starts, n_time, durations)
        out.update(flush_active=active, flush_age_d=age)
        out["fruit_age_d"] = np.where((petal_fall >= 0) & (day >= petal_fall), day - petal_fall, np.nan)
    return out


def _after_index(index, n_time):
    return (index >= 0) & (np.arange(n_time)[:, None] >= index)


# ------------------------------------------------------------------------------------------------------------
# xarray orchestration
# ------------------------------------------------------------------------------------------------------------
DAILY_OUTPUTS = {
    "gdd_c_d": ("degC d", "daily thermal time on the plot"),
    "gdd_since_bloom_c_d": ("degC d", "thermal time accumulated since full bloom"),
    "bloom_heat_c_d": ("degC d", "daily heat above the bloom base temperature (its sum from 1 February "
                                 "decides full bloom)"),
    "induction_h": ("h", "cumulative flower-bud induction hours (below the induction threshold)"),
    "stage": ("1", "phenological stage code"),
    "flush_active": ("1", "young (susceptible) vegetative flush present"),
    "flush_age_d": ("d", "days since the current (youngest active) flush cohort emerged; NaN when no flush "
                         "is young"),
    "fruit_age_d": ("d", "days since petal fall; NaN when the tree carries no fruit of the season"),
    "fruit_diameter_mm": ("mm", "equatorial fruit diameter"),
    "fruit_potential_diameter_mm": ("mm", "final diameter the season allows so far (crop load, water "
                                          "deficit, heat days and carbon in stages I-II)"),
    "fruit_expansion_mm_d": ("mm/d", "fruit expansion rate (day-to-day diameter increase)"),
    "fruit_volume_cm3": ("cm3", "fruit volume (sphere of the diameter)"),
    "brix": ("Brix", "total soluble solids (TSS)"),
    "acid_pct": ("%", "titratable acidity (citric acid)"),
    "ratio": ("1", "TSS/TA ratio"),
    "assimilation_kg_co2_ha_d": ("kg CO2/ha/d", "gross canopy assimilation (after water and N stress)"),
    "respiration_kg_co2_ha_d": ("kg CO2/ha/d", "maintenance respiration"),
    "carbon_supply_demand": ("1", "carbon supply/demand ratio (net assimilation over growth demand)"),
    "fruit_growth_modifier": ("1", "multiplier of the fruit clock from water stress and carbon shortage"),
    "ks": ("1", "water-stress coefficient used (1 = no stress)"),
}
DATE_OUTPUTS = {
    "bud_break_date": ("bud_break_index", "spring bud break (first flush)"),
    "bud_growth_trigger_date": ("trigger_index",
                                "warm-spell trigger of bud growth after sufficient induction (CFMS)"),
    "bloom_date": ("bloom_index", "full bloom"),
    "petal_fall_date": ("petal_fall_index", "petal fall"),
    "fruit_set_date": ("fruit_set_index", "end of stage I and of the physiological fruit drop"),
    "stage3_date": ("stage3_index", "start of fruit stage III (maturation)"),
    "colour_break_date": ("colour_break_index", "colour break (peel degreening)"),
    "maturity_date": ("maturity_index", "harvest maturity (TSS/TA and TSS thresholds reached)"),
}


def _plots_dataset(plots) -> xr.Dataset:
    if isinstance(plots, PlotSet):
        return plots.to_dataset()
    if isinstance(plots, xr.Dataset) and "plot" in plots.dims:
        return plots
    raise InputError("plots must be a PlotSet or a dataset with a 'plot' dimension (PlotSet.to_dataset()).")


def _check_weather(weather: xr.Dataset, plot_ids) -> xr.Dataset:
    if not isinstance(weather, xr.Dataset) or "time" not in weather.dims or "plot" not in weather.dims:
        raise InputError("growth needs daily plot weather with dims (time, plot), e.g. from "
                         "orchard.plot_weather.plot_weather(..., resolution='daily').")
    if weather.attrs.get("resolution", "daily") != "daily":
        raise InputError(f"growth needs daily weather, got {weather.attrs.get('resolution')!r}; aggregate it "
                         "with orchard.weather.daily_from_hourly first.")
    have = set(weather["plot"].values.astype(str))
    missing_plots = [pid for pid in plot_ids if pid not in have]
    if missing_plots:
        raise InputError(f"no weather for plot {missing_plots[0]}; give plot weather for every plot.")
    for name in ("tmin_c", "tmax_c", "rs_mj_m2"):
        if name not in weather:
            hint = " (give sunshine hours or radiation)" if name == "rs_mj_m2" else ""
            raise InputError(f"the weather has no {name}{hint}; growth needs daily tmin_c, tmax_c and "
                             "rs_mj_m2.")
    times = pd.DatetimeIndex(weather["time"].values)
    if len(times) < 2 or not (np.diff(times.values) == np.timedelta64(1, "D")).all():
        raise InputError("growth needs consecutive days in the weather (one row per day, no missing days).")
    return weather


def _young_trees(plots_ds: xr.Dataset, times: pd.DatetimeIndex, p) -> np.ndarray:
    """Per plot, whether its trees are young (< ``flush.young_tree_years``) in the season's bloom year; plots
    without a planting year count as bearing."""
    n = plots_ds.sizes["plot"]
    if "planting_year" not in plots_ds:
        return np.zeros(n, dtype=bool)
    planted = pd.to_numeric(pd.Series(plots_ds["planting_year"].values), errors="coerce").to_numpy(float)
    feb = times[(times.month == 2) & (times.day == 1)]
    season = feb[0].year if len(feb) else times[-1].year
    with np.errstate(invalid="ignore"):
        return (season - planted) < p["flush.young_tree_years"]


def dates_only_lead_days(times: pd.DatetimeIndex, bloom_start_doy) -> int:
    """Days at the start of the weather a dates-only run may skip: those before the first day of the
    earliest ``bloom.start_doy`` of the plots (0 when the weather starts later or never reaches it).

    Without induction, carbon and fruit size (:func:`simulate` with ``quality_only``) every process starts
    at full bloom or at the bloom heat sum's start, and every sum starts at zero on its start day, so the
    skipped days change no date (tests/growth/test_growth_model.py checks it bit for bit).
    """
    return max(_first_doy_index(times.day_of_year.to_numpy(), int(np.min(bloom_start_doy))), 0)


def _on_whole_record(piece: dict, lead: int) -> dict:
    """A dates-only chunk result run from day ``lead`` put back on the whole record: day indices shifted
    by ``lead``, the daily stage code 0 (before bud break) on the skipped days."""
    if lead == 0:
        return piece
    out = {}
    for key, values in piece.items():
        if key == "stage":
            out[key] = np.concatenate([np.zeros((lead,) + values.shape[1:], dtype=values.dtype), values])
        elif key.endswith("_index"):
            out[key] = np.where(values >= 0, values + lead, values)
        else:
            out[key] = values
    return out


def _join_chunks(pieces: list[dict], n_plot: int) -> dict:
    """Chunk results joined along the last (plot) axis; each chunk is released as soon as it is copied."""
    joined = {k: np.empty(v.shape[:-1] + (n_plot,), dtype=v.dtype) for k, v in pieces[0].items()}
    start = 0
    while pieces:
        piece = pieces.pop(0)
        width = next(iter(piece.values())).shape[-1]
        for k, v in piece.items():
            joined[k][..., start:start + width] = v
        start += width
    return joined


def select_plots(data, plot_ids):
    """``data.sel(plot=plot_ids)``, without the copy when the plots are already those, in that order."""
    labels = data["plot"].values
    if len(labels) == len(plot_ids) and np.array_equal(labels.astype(str), np.asarray(plot_ids).astype(str)):
        return data
    return data.sel(plot=list(plot_ids))


def _check_gaps(values: np.ndarray, name: str, times, plot_ids) -> None:
    bad = np.isnan(values)
    if bad.any():
        t, j = np.argwhere(bad)[0]
        length = int(np.argmax(~bad[t:, j])) if (~bad[t:, j]).any() else int(bad[t:, j].size)
        raise InputError(
            f"weather for plot {plot_ids[j]} has {name} missing for {length} day(s) from "
            f"{pd.Timestamp(times[t]).date()}, longer than the gap the weather QC fills; fill the gap "
            "(another station, reanalysis) or shorten the period.")


def _daily_input(value, name: str, times, plot_ids) -> np.ndarray | None:
    """ks / nitrogen inputs: scalar, (plot,) or (time, plot) DataArray -> array (time, plot); gaps -> 1."""
    if value is None:
        return None
    if isinstance(value, xr.DataArray):
        da = value
        if "plot" in da.dims:
            da = select_plots(da, plot_ids)
        if "time" in da.dims:
            da = da.reindex(time=times)
        da = da.transpose(*[d for d in ("time", "plot") if d in da.dims])
        array = da.to_numpy().astype(float)
        if "time" not in da.dims:
            array = array[None, ...]
        if "plot" not in da.dims:
            array = array[..., None]
    else:
        array = np.asarray(value, dtype=float)
    if np.nanmin(array, initial=1.0) < 0 or np.nanmax(array, initial=0.0) > 1:
        raise InputError(f"{name} must lie between 0 and 1 (1 = no stress); got values from "
                         f"{np.nanmin(array):.2f} to {np.nanmax(array):.2f}.")
    return np.broadcast_to(np.nan_to_num(array, nan=1.0), (len(times), len(plot_ids)))


def run(plots, weather: xr.Dataset, params=None, ks=None, *, n_status=None, slope_correction: bool = True,
        session=None, plot_chunk: int = PLOT_CHUNK, dates_only: bool = False, set_keys=None,
        flat_reference: bool | None = None) -> xr.Dataset:
    """Simulate citrus growth for every plot over the days of the weather.

    Parameters
    ----------
    plots : PlotSet or xarray.Dataset
        The plots (dim ``plot``) with ``lat``, ``lon``, ``cultivar``, ``canopy_cover`` and, for the slope
        correction, ``slope_deg``, ``aspect_deg``, ``sky_view_factor``, ``horizon_deg``.
    weather : xarray.Dataset
        Daily plot weather, dims (time, plot), with ``tmin_c``, ``tmax_c``, ``rs_mj_m2`` (temperatures already
        at the plot's elevation, as ``orchard.plot_weather`` gives them). The season: full bloom is counted
        from the first 1 January in the weather; induction from the 1 October before it when present.
    params : ParameterSet or dict of cultivar -> ParameterSet, optional
        One set for every plot, or one per cultivar; default the cultivars' sets (stored versions first when
        ``session`` is given, else the shipped files). A dict may also hold district variants under
        ``<code>@<district>`` (``growth.cultivars.parameters_from_bundle``): a plot whose ``district`` has
        one uses it.
    ks : xarray.DataArray or float, optional
        Daily water-stress coefficient (time, plot) or per plot, 0–1, from the soil water balance; default 1
        (no water stress), recorded in the attrs.
    n_status : xarray.DataArray or float, optional
        Nitrogen status index 0–1 (1 = sufficient); default 1.
    slope_correction : bool
        Move radiation and temperature onto each plot's slope (``growth.slope``); needs terrain.
    flat_reference : bool, optional
        Also run the plot on flat ground for ``maturity_delay_days`` (default: when ``slope_correction``);
        False saves that second pass when only the series on the slope are wanted (the 30-day outlook).
    dates_only : bool
        Only thermal time, quality and the stage dates (no induction, carbon or fruit size): the fast path
        for expected dates over many weather members. The result then holds the dates and the daily
        ``stage`` only.
    set_keys : sequence of str, optional
        Per plot, its key in the ``params`` dict (``growth.cultivars.set_keys_for_bundle``); default the
        plot's ``<code>@<district>`` when ``params`` holds that key, else its cultivar code.

    Returns
    -------
    xarray.Dataset
        Dims (plot, time): the daily outputs (``gdd_c_d``, ``bloom_heat_c_d``, ``induction_h``, ``stage``,
        ``flush_active``, ``flush_age_d`` (days since the youngest young flush cohort emerged, NaN when
        none), ``fruit_age_d`` (days since petal fall, NaN without fruit), ``fruit_diameter_mm``,
        ``fruit_potential_diameter_mm``, ``fruit_expansion_mm_d``, ``brix``, ``acid_pct``, ``ratio``,
        assimilation, respiration, …); per plot the stage dates (``bloom_date``, ``colour_break_date``,
        ``maturity_date``, …), ``flowering_intensity``, ``fruit_set_fraction``, ``fruit_load_relative``,
        ``heat_stress_days``, ``maturity_date_flat`` and ``maturity_delay_days`` against the same plot on flat
        ground at the same elevation. The plots' ``planting_year`` (optional) marks young trees (more
        flushes); the weather's ``precip_mm`` (optional) feeds the October-rain term of TSS.
    """
    plots_ds = _plots_dataset(plots)
    plot_ids = plots_ds["plot"].values.astype(str)
    weather = select_plots(_check_weather(weather, plot_ids), plot_ids)
    times = pd.DatetimeIndex(weather["time"].values)

    codes = [str(c) for c in plots_ds["cultivar"].values] if "cultivar" in plots_ds else [""] * len(plot_ids)
    given_keys, set_keys = set_keys, codes
    if params is None:
        # a district's own version of a cultivar set (growth.<code>@<district>) wins over the belt-wide one
        districts = plots_ds["district"].values if "district" in plots_ds else None
        set_keys = cultivars.set_keys_for_plots(codes, districts, session=session)
        sets = cultivars.parameters_for_plots(set_keys, plot_ids, session=session)
    elif isinstance(params, orchard_params.ParameterSet):
        sets = {code: params for code in set(codes)}
    else:
        if given_keys is not None:
            set_keys = [str(k) for k in given_keys]
            if len(set_keys) != len(codes):
                raise InputError(f"set_keys has {len(set_keys)} keys for {len(codes)} plots; give one key "
                                 "per plot.")
        elif "district" in plots_ds and any(orchard_params.DISTRICT_SEPARATOR in str(k) for k in params):
            # district variants under <code>@<district> (growth.cultivars.parameters_from_bundle)
            variants = [f"{c}{orchard_params.DISTRICT_SEPARATOR}{d}" for c, d in
                        zip(codes, plots_ds["district"].values, strict=True)]
            set_keys = [v if v in params else c for v, c in zip(variants, codes, strict=True)]
        missing = [k for k in set_keys if k not in params]
        if missing:
            raise InputError(f"no parameter set for cultivar '{missing[0]}'; pass one for every cultivar.")
        sets = dict(params)
    p = cultivars.parameter_arrays(set_keys, sets)

    flat_reference = slope_correction if flat_reference is None else (flat_reference and slope_correction)
    if slope_correction:
        if "tmin_flat_c" not in weather:  # else the caller already moved the weather onto the slopes
            weather = slope.slope_weather(weather, plots_ds)
        flat = {"tmin_c": "tmin_flat_c", "tmax_c": "tmax_flat_c", "rs_mj_m2": "rs_flat_mj_m2"}
    else:
        flat = {"tmin_c": "tmin_c", "tmax_c": "tmax_c", "rs_mj_m2": "rs_mj_m2"}
    arrays = {name: weather[name].transpose("time", "plot").to_numpy().astype(float, copy=False)
              for name in {"tmin_c", "tmax_c", "rs_mj_m2", *flat.values()}}
    for name in ("tmin_c", "tmax_c", "rs_mj_m2"):
        _check_gaps(arrays[name], name, times, plot_ids)

    lat = plots_ds["lat"].to_numpy().astype(float)
    lon = plots_ds["lon"].to_numpy().astype(float)
    cover = (plots_ds["canopy_cover"].to_numpy().astype(float) if "canopy_cover" in plots_ds
             else np.full(len(plot_ids), np.nan))
    default_cover = np.isnan(cover)
    cover = np.where(default_cover, DEFAULT_CANOPY_COVER, cover)
    ks_arr = _daily_input(ks, "ks", times, plot_ids)
    precip = (weather["precip_mm"].transpose("time", "plot").to_numpy().astype(float)
              if "precip_mm" in weather else None)
    young = _young_trees(plots_ds, times, p)
    n_arr = _daily_input(n_status, "n_status", times, plot_ids)
    offset = float(weather.attrs.get("utc_offset_h", 8.0))

    # A dates-only run counts nothing before the bloom heat sum starts: its days from 1 October are skipped
    # (a fifth of an expected-dates member), and the dates are shifted back onto the whole record.
    lead = dates_only_lead_days(times, p["bloom.start_doy"]) if dates_only else 0
    days = slice(lead, None)
    pieces, flat_pieces = [], []
    for start in range(0, len(plot_ids), plot_chunk):
        cols = slice(start, start + plot_chunk)
        pc = {k: v[cols] for k, v in p.items()}
        kw = dict(utc_offset_h=offset)
        pieces.append(simulate(arrays["tmin_c"][days, cols], arrays["tmax_c"][days, cols],
                               arrays["rs_mj_m2"][days, cols],
                               times[days], lat[cols], lon[cols], cover[cols], pc,
                               ks=None if ks_arr is None else ks_arr[days, cols],
                               n_status=None if n_arr is None else n_arr[days, cols], quality_only=dates_only,
                               precip_mm=None if precip is None else precip[days, cols], young=young[cols],
                               **kw))
        if dates_only:  # keep the dates (and stages), not every daily series of every member
            pieces[-1] = _on_whole_record({k: v for k, v in pieces[-1].items()
                                           if k == "stage" or k not in DAILY_OUTPUTS}, lead)
        if flat_reference:  # only its maturity day is kept
            flat_run = simulate(arrays[flat["tmin_c"]][days, cols], arrays[flat["tmax_c"]][days, cols],
                                arrays[flat["rs_mj_m2"]][days, cols], times[days], lat[cols], lon[cols],
                                cover[cols], pc, quality_only=True,
                                precip_mm=None if precip is None else precip[days, cols], **kw)
            flat_pieces.append(_on_whole_record({"maturity_index": flat_run["maturity_index"]}, lead))
    result = pieces[0] if len(pieces) == 1 else _join_chunks(pieces, len(plot_ids))
    # one Dataset constructor (adding variables one by one aligns the dataset each time: 5x slower)
    variables = {}
    for name, (units, long_name) in DAILY_OUTPUTS.items():
        if name in result:  # a dates-only run has no carbon or fruit series
            values = result[name].T
            if name in ("stage", "flush_active"):
                values = values.astype(np.int8)
            variables[name] = (("plot", "time"), values, {"units": units, "long_name": long_name})
    variables["stage"][2].update(flag_values=np.array(list(phenology.STAGES), dtype=np.int8),
                                 flag_meanings=" ".join(phenology.STAGES.values()))
    for name, (key, long_name) in DATE_OUTPUTS.items():
        variables[name] = ("plot", _date(times, result[key]), {"long_name": long_name})
    variables["flowering_intensity"] = ("plot", result["flowering_intensity"], {
        "units": "1", "long_name": "flowering intensity: induction hours below 20 degC over those required "
                                   "(capped at 1) x (1 - exp(-hours at 11-15 degC Nov-Jan / H50))"})
    if not dates_only:
        variables["fruit_set_fraction"] = ("plot", result["fruit_set_fraction"], {
            "units": "1", "long_name": "fraction of flowers setting fruit (carbon and water limited)"})
        variables["fruit_load_relative"] = ("plot", result["fruit_load_relative"], {
            "units": "1",
            "long_name": "crop load relative to a normal crop (flowering intensity x fruit set)"})
        variables["heat_stress_days"] = ("plot", result["heat_stress_days"], {
            "units": "d",
            "long_name": "days with Tmax >= 35, Tmean >= 30 or Tmin >= 24 degC in fruit stages I-II"})
    ds = xr.Dataset(variables, coords={"plot": plot_ids, "time": times})
    if flat_reference:
        flat_index = np.concatenate([piece["maturity_index"] for piece in flat_pieces])
        ds["maturity_date_flat"] = xr.DataArray(_date(times, flat_index), dims="plot", attrs={
            "long_name": "harvest maturity of the same plot on flat, unobstructed ground at the same "
                         "elevation"})
        delay = (ds["maturity_date"] - ds["maturity_date_flat"]) / np.timedelta64(1, "D")
        ds["maturity_delay_days"] = delay.assign_attrs(
            units="d", long_name="maturity delay caused by slope and aspect (positive = later than flat)")
        for name in ("rs_slope_mj_m2", "rs_flat_mj_m2", "delta_tmax_c", "delta_tmin_c"):
            if name in weather:
                ds[name] = weather[name].transpose("plot", "time").assign_attrs(weather[name].attrs)
    else:
        ds["maturity_delay_days"] = xr.DataArray(np.full(len(plot_ids), np.nan), dims="plot", attrs={
            "units": "d", "long_name": "not computed: no run on flat ground (slope correction or flat "
                                       "reference off)"})
    ds["cultivar"] = xr.DataArray(np.asarray(codes, dtype=str), dims="plot")
    ds.attrs.update(
        model=MODEL_NAME, model_version=MODEL_VERSION,
        parameter_set="; ".join(f"{code}: {pset.name} v{pset.version or 0} {pset.hash}"
                                for code, pset in sorted(sets.items())),
        ks_source=("given" if ks is not None else "default 1 (no water stress): no soil water balance given"),
        n_status_source=("given" if n_status is not None else "default 1 (nitrogen sufficient)"),
        slope_correction=("on: radiation and temperature moved onto each plot's slope (growth.slope)"
                          if slope_correction else "off"),
        canopy_cover_default=(f"{DEFAULT_CANOPY_COVER} used for plots without canopy_cover: "
                              + ", ".join(plot_ids[default_cover]) if default_cover.any() else "none"),
        weather_source=str(weather.attrs.get("source", "unknown")),
        induction=("not counted (dates-only run)" if "induction_h" not in result
                   else "counted from 1 October" if not np.all(np.isnan(result["induction_h"]))
                   else "not counted: the weather does not cover the autumn before bloom"),
    )
    return ds
