"""Tests of growth.slope: plane-of-slope radiation, horizon, sky view, daily totals, temperature offsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest
import xarray as xr

from growth import slope
from orchard.errors import InputError, ParameterError
from orchard.terrain import sky_view_factor
from orchard.weather import extraterrestrial_radiation_daily

FENGJIE = (31.0, 109.5)
LAT_299 = (29.9, 106.5)


def _hours(start, days, tz=None):
    return pd.date_range(start, periods=24 * days, freq="h", tz=tz) + pd.Timedelta(minutes=30)


def _synthetic_ghi(times, lat, lon, kt=0.6):
    """A smooth GHI [W m-2] = kt x extraterrestrial horizontal irradiance (0 at night)."""
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        index = index.tz_localize("Etc/GMT-8")
    pos = pvlib.solarposition.get_solarposition(index, lat, lon)
    e0 = pvlib.irradiance.get_extra_radiation(index).to_numpy()
    return kt * e0 * np.maximum(np.cos(np.radians(pos["apparent_zenith"].to_numpy())), 0.0)


def _plane_horizon(slope_deg, aspect_deg, n_az=36):
    """Horizon profile seen from a point on an infinite plane: the uphill half rises at the plane's angle."""
    phi = np.radians(np.arange(n_az) * 360.0 / n_az)
    uphill = -np.cos(phi - np.radians(aspect_deg))
    return np.degrees(np.arctan(np.tan(np.radians(slope_deg)) * np.maximum(uphill, 0.0)))


# ------------------------------------------------------------------------------------------------------
# Instantaneous transposition
# ------------------------------------------------------------------------------------------------------

def test_isotropic_equals_hand_formula():
    lat, lon = FENGJIE
    times = _hours("2021-01-10", 2).append(_hours("2021-07-10", 2))
    ghi = _synthetic_ghi(times, lat, lon, kt=0.55)
    slopes = np.array([0.0, 10.0, 25.0, 40.0])
    aspects = np.array([0.0, 90.0, 180.0, 300.0])
    rho = 0.2
    got = slope.plane_of_slope_irradiance(times, ghi, lat, lon, slopes, aspects, model="isotropic",
                                          albedo=rho)
    assert got.shape == (times.size, 4)

    index = times.tz_localize("Etc/GMT-8")
    pos = pvlib.solarposition.get_solarposition(index, lat, lon)
    zen = pos["apparent_zenith"].to_numpy()
    azi = pos["azimuth"].to_numpy()
    split = pvlib.irradiance.erbs(pd.Series(ghi, index=index), pd.Series(zen, index=index), index)
    dni, dhi = split["dni"].to_numpy(), split["dhi"].to_numpy()
    for j, (beta, alpha) in enumerate(zip(np.radians(slopes), np.radians(aspects), strict=True)):
        z, g = np.radians(zen), np.radians(azi)
        cos_theta = np.cos(z) * np.cos(beta) + np.sin(z) * np.sin(beta) * np.cos(g - alpha)
        expected = (dni * np.maximum(cos_theta, 0.0) + dhi * (1 + np.cos(beta)) / 2
                    + rho * ghi * (1 - np.cos(beta)) / 2)
        np.testing.assert_allclose(got[:, j], expected, rtol=0, atol=1e-9)
    # the synthetic day is clear enough to have beam on a south slope at noon
    assert got[12, 2] > ghi[12] * 1.1


@pytest.mark.parametrize("model", ["isotropic", "haydavies", "perez"])
def test_flat_unobstructed_surface_gets_ghi(model):
    lat, lon = FENGJIE
    times = _hours("2021-03-01", 3)
    ghi = _synthetic_ghi(times, lat, lon, kt=0.5)
    got = slope.plane_of_slope_irradiance(times, ghi, lat, lon, 0.0, np.nan, model=model)
    assert got.shape == ghi.shape
    if model == "perez":
        # pvlib's Perez floors cos Z at cos 85°, so within 5° of the horizon a flat surface gets a bit less
        pos = pvlib.solarposition.get_solarposition(times.tz_localize("Etc/GMT-8"), lat, lon)
        high = pos["apparent_zenith"].to_numpy() < 85.0
        np.testing.assert_allclose(got[high], ghi[high], rtol=0, atol=1e-9)
        assert np.all(got[~high] <= ghi[~high] + 1e-9)
    else:
        np.testing.assert_allclose(got, ghi, rtol=0, atol=1e-9)


def test_horizon_of_90_degrees_kills_the_beam():
    lat, lon = FENGJIE
    times = _hours("2021-01-15", 1)
    ghi = _synthetic_ghi(times, lat, lon, kt=0.65)
    open_sky = slope.plane_of_slope_irradiance(times, ghi, lat, lon, 20.0, 180.0, horizon_deg=np.zeros(36),
                                               return_components=True)
    walled = slope.plane_of_slope_irradiance(times, ghi, lat, lon, 20.0, 180.0, horizon_deg=np.full(36, 90.0),
                                             return_components=True)
    assert open_sky["poa_direct"].max() > 300.0
    assert np.all(walled["poa_direct"] == 0.0)
    # no sky either: only light reflected by the surrounding terrain remains
    np.testing.assert_allclose(walled["poa_sky_diffuse"], 0.0, atol=1e-12)
    np.testing.assert_allclose(walled["poa_global"], 0.2 * ghi, rtol=1e-12)


def test_horizon_blocks_only_in_its_direction():
    lat, lon = FENGJIE
    times = _hours("2021-01-15", 1)
    ghi = _synthetic_ghi(times, lat, lon, kt=0.65)
    azimuth = np.arange(36) * 10.0
    ridge_south = np.where((azimuth >= 150) & (azimuth <= 210), 50.0, 0.0)  # a ridge to the south only
    comp = slope.plane_of_slope_irradiance(times, ghi, lat, lon, 0.0, 0.0, horizon_deg=ridge_south,
                                           return_components=True)
    pos = pvlib.solarposition.get_solarposition(times.tz_localize("Etc/GMT-8"), lat, lon)
    sun_az, sun_el = pos["azimuth"].to_numpy(), pos["apparent_elevation"].to_numpy()
    behind_ridge = (sun_az > 160) & (sun_az < 200) & (sun_el > 0)
    in_the_open = (sun_az < 140) & (sun_el > 15)
    assert behind_ridge.any() and in_the_open.any()
    assert np.all(comp["poa_direct"][behind_ridge] == 0.0)
    assert np.all(comp["poa_direct"][in_the_open] > 50.0)


def test_horizon_interpolation_is_periodic():
    profile = np.array([0.0, 10.0, 20.0, 30.0])  # N, E, S, W
    got = slope.horizon_elevation_at(profile, np.array([0.0, 45.0, 180.0, 315.0, 359.0, -45.0, 405.0]))
    np.testing.assert_allclose(got, [0.0, 5.0, 20.0, 15.0, 30.0 / 90.0, 15.0, 5.0], atol=1e-12)
    two = slope.horizon_elevation_at(np.vstack([profile, profile[::-1]]), np.array([90.0]))
    np.testing.assert_allclose(two, [[10.0, 20.0]])


def test_tz_aware_times_equal_naive_local_times():
    lat, lon = FENGJIE
    naive = _hours("2021-05-01", 1)
    ghi = _synthetic_ghi(naive, lat, lon)
    a = slope.plane_of_slope_irradiance(naive, ghi, lat, lon, 25.0, 135.0)
    b = slope.plane_of_slope_irradiance(naive.tz_localize("Asia/Shanghai"), ghi, lat, lon, 25.0, 135.0)
    c = slope.plane_of_slope_irradiance(naive - pd.Timedelta(hours=8), ghi, lat, lon, 25.0, 135.0,
                                        utc_offset_h=0)
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(a, c, atol=1e-9)


# ------------------------------------------------------------------------------------------------------
# Sky-view factor
# ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("beta", [0.0, 10.0, 25.0, 45.0])
def test_tilted_sky_view_of_open_slope_is_isotropic_factor(beta):
    expected = (1 + np.cos(np.radians(beta))) / 2
    assert slope.tilted_sky_view_factor(beta, 200.0, np.zeros(36)) == pytest.approx(expected, abs=1e-9)
    assert slope.tilted_sky_view_factor(beta, 200.0) == pytest.approx(expected, abs=1e-12)


def test_slope_does_not_count_its_own_hillside_twice():
    beta, alpha = 25.0, 180.0
    horizon = _plane_horizon(beta, alpha, n_az=360)
    horizontal_svf = float(sky_view_factor(horizon))
    iso = (1 + np.cos(np.radians(beta))) / 2
    # the terrain SVF of a uniform slope already equals the tilted plane's view factor ...
    assert horizontal_svf == pytest.approx(iso, abs=1e-6)
    # ... so neither path may multiply them (that would give iso**2)
    assert slope.tilted_sky_view_factor(beta, alpha, horizon) == pytest.approx(iso, abs=1e-6)
    assert slope.tilted_sky_view_factor(beta, alpha, sky_view_factor=horizontal_svf) == pytest.approx(iso,
                                                                                                       abs=1e-6)


def test_sky_view_factor_of_flat_ground_in_a_uniform_basin():
    h = 20.0
    got = slope.tilted_sky_view_factor(0.0, np.nan, np.full(36, h))
    assert got == pytest.approx(np.cos(np.radians(h)) ** 2, abs=1e-12)


def test_hills_in_front_of_a_slope_hide_more_sky_than_hills_behind_it():
    azimuth = np.arange(36) * 10.0
    facing = np.where(np.abs(azimuth - 180.0) <= 40, 30.0, 0.0)   # hills to the south, the slope faces south
    behind = np.where((azimuth <= 40) | (azimuth >= 320), 30.0, 0.0)
    open_ = slope.tilted_sky_view_factor(25.0, 180.0, np.zeros(36))
    v_front = slope.tilted_sky_view_factor(25.0, 180.0, facing)
    v_behind = slope.tilted_sky_view_factor(25.0, 180.0, behind)
    assert v_front < v_behind < open_


# ------------------------------------------------------------------------------------------------------
# Daily radiation
# ------------------------------------------------------------------------------------------------------

def _january(lat, kt, days=31):
    dates = pd.date_range("2021-01-01", periods=days, freq="D")
    rs = kt * extraterrestrial_radiation_daily(lat, dates.dayofyear.to_numpy())
    return dates, rs


def test_south_slope_gains_and_north_slope_loses_in_january():
    lat, lon = LAT_299
    dates, rs = _january(lat, kt=0.6)
    rs_slope, _ = slope.daily_plane_of_slope_radiation(
        dates, rs, lat, lon, [25.0, 25.0, 0.0], [180.0, 0.0, np.nan])
    south, north, flat = rs_slope.sum(axis=0)
    assert south > 1.2 * flat
    assert north < 0.8 * flat
    assert flat == pytest.approx(rs.sum(), rel=1e-9)
    # clear-winter S - N difference of the order growth.md §7.3 uses to calibrate c_T (10-13 MJ m-2 d-1)
    assert 8.0 < (south - north) / dates.size < 16.0


def test_overcast_days_shrink_the_north_south_difference():
    lat, lon = FENGJIE
    _, rs_clear = _january(lat, kt=0.65, days=7)
    dates, rs_dull = _january(lat, kt=0.25, days=7)
    rs = np.stack([rs_clear, rs_dull], axis=1)  # (day, plot): same geometry, different measured radiation
    south, _ = slope.daily_plane_of_slope_radiation(dates, rs, lat, lon, 25.0, 180.0)
    north, _ = slope.daily_plane_of_slope_radiation(dates, rs, lat, lon, 25.0, 0.0)
    diff = south - north
    ratio = south / north
    assert np.all(diff[:, 1] < 0.1 * diff[:, 0])
    assert np.all(ratio[:, 0] > 2.0)
    assert np.all(ratio[:, 1] < 1.1)


@pytest.mark.parametrize("model", ["isotropic", "haydavies", "perez"])
def test_flat_daily_total_equals_measured_radiation(model):
    lat, lon = FENGJIE
    dates = pd.date_range("2021-01-01", periods=365, freq="D")
    kt = np.random.default_rng(3).uniform(0.05, 0.8, dates.size)
    rs = kt * extraterrestrial_radiation_daily(lat, dates.dayofyear.to_numpy())
    rs[40] = np.nan
    rs_slope, rs_flat = slope.daily_plane_of_slope_radiation(dates, rs, lat, lon, 0.0, np.nan, model=model)
    np.testing.assert_allclose(rs_flat, rs, rtol=1e-12)
    # Perez: a flat surface loses a little of the circumsolar light within 5° of the horizon (see above)
    np.testing.assert_allclose(rs_slope, rs, rtol=5e-3 if model == "perez" else 1e-9)
    assert np.isnan(rs_slope[40]) and np.isnan(rs_flat[40])


def test_hourly_steps_are_close_to_ten_minute_steps():
    lat, lon = FENGJIE
    dates, rs = _january(lat, kt=0.6, days=5)
    hourly, _ = slope.daily_plane_of_slope_radiation(dates, rs, lat, lon, [25.0, 25.0], [180.0, 0.0])
    fine, _ = slope.daily_plane_of_slope_radiation(dates, rs, lat, lon, [25.0, 25.0], [180.0, 0.0],
                                                   step_minutes=10)
    np.testing.assert_allclose(hourly, fine, rtol=0.015)


@pytest.mark.parametrize("date", ["2021-01-15", "2021-04-15", "2021-10-15"])
def test_daily_south_slope_matches_liu_jordan_klein_beam_ratio(date):
    """Clear day (Erbs diffuse fraction fixed at 0.165 for kt > 0.8): isotropic daily total on a south slope.

    Expected H_T = H [(1 - 0.165) R_b + 0.165 (1 + cos β)/2 + ρ (1 - cos β)/2] with the daily beam ratio of
    Liu & Jordan (1962) / Klein (1977), Duffie & Beckman, Solar Engineering of Thermal Processes, Eq. 2.19.3:
    R_b = [cos(φ-β) cos δ sin ω's + ω's sin(φ-β) sin δ] / [cos φ cos δ sin ωs + ωs sin φ sin δ],
    ω's = min(ωs, arccos(-tan(φ-β) tan δ)), δ from Cooper's equation. Erbs gives no beam below 3° solar
    elevation, so the hourly-integrated value is expected slightly (< 2.5 %) lower.
    """
    lat, lon, beta_deg, rho = 30.9, 109.5, 25.0, 0.2
    n = pd.Timestamp(date).dayofyear
    d = np.radians(23.45 * np.sin(np.radians(360.0 * (284 + n) / 365.0)))
    p, b = np.radians(lat), np.radians(beta_deg)
    ws = np.arccos(-np.tan(p) * np.tan(d))
    wsp = min(ws, np.arccos(-np.tan(p - b) * np.tan(d)))
    rb = ((np.cos(p - b) * np.cos(d) * np.sin(wsp) + wsp * np.sin(p - b) * np.sin(d))
          / (np.cos(p) * np.cos(d) * np.sin(ws) + ws * np.sin(p) * np.sin(d)))
    h = 0.85 * float(extraterrestrial_radiation_daily(lat, n))
    expected = h * ((1 - 0.165) * rb + 0.165 * (1 + np.cos(b)) / 2 + rho * (1 - np.cos(b)) / 2)
    got, _ = slope.daily_plane_of_slope_radiation([date], [h], lat, lon, beta_deg, 180.0, model="isotropic",
                                                  albedo=rho, step_minutes=10)
    assert got[0] == pytest.approx(expected, rel=0.025)
    assert got[0] < expected


# ------------------------------------------------------------------------------------------------------
# Vectorisation
# ------------------------------------------------------------------------------------------------------

def _mixed_plots(n=6, seed=5):
    rng = np.random.default_rng(seed)
    lat = np.where(np.arange(n) < n // 2, 31.0, 25.8) + rng.uniform(-0.01, 0.01, n)  # two sites
    lon = np.where(np.arange(n) < n // 2, 109.5, 116.3) + rng.uniform(-0.01, 0.01, n)
    return {"latitude": lat, "longitude": lon, "slope_deg": rng.uniform(0, 35, n),
            "aspect_deg": rng.uniform(0, 360, n), "horizon_deg": rng.uniform(0, 30, (n, 36))}


@pytest.mark.parametrize("model", ["haydavies", "perez"])
def test_vectorised_irradiance_equals_per_plot_loop(model, monkeypatch):
    monkeypatch.setattr(slope, "MAX_BLOCK_ELEMENTS", 100)  # forces several plot blocks
    terrain = _mixed_plots()
    times = _hours("2021-11-20", 2)
    ghi = np.stack([_synthetic_ghi(times, terrain["latitude"][j], terrain["longitude"][j], kt=0.3 + 0.08 * j)
                    for j in range(6)], axis=1)
    together = slope.plane_of_slope_irradiance(times, ghi, model=model, **terrain)
    for j in range(6):
        one = slope.plane_of_slope_irradiance(
            times, ghi[:, j], terrain["latitude"][j], terrain["longitude"][j], terrain["slope_deg"][j],
            terrain["aspect_deg"][j], model=model, horizon_deg=terrain["horizon_deg"][j])
        assert one.shape == (times.size,)
        # within a 0.1 deg cell the site's mean position is used; plots here lie within 0.02 deg of it
        np.testing.assert_allclose(together[:, j], one, rtol=2e-3, atol=0.5)
    assert together.std(axis=1).max() > 50  # the plots really differ


def test_vectorised_daily_equals_per_plot_loop(monkeypatch):
    terrain = _mixed_plots()
    terrain["latitude"] = np.round(terrain["latitude"], 0)  # exact sites: per-plot calls use the same sun
    terrain["longitude"] = np.round(terrain["longitude"], 0)
    dates = pd.date_range("2021-12-01", periods=20, freq="D")
    rs = np.random.default_rng(7).uniform(1, 14, (dates.size, 6))
    monkeypatch.setattr(slope, "MAX_BLOCK_ELEMENTS", 500)
    together, flat = slope.daily_plane_of_slope_radiation(dates, rs, **terrain)
    for j in range(6):
        one, one_flat = slope.daily_plane_of_slope_radiation(
            dates, rs[:, j], terrain["latitude"][j], terrain["longitude"][j], terrain["slope_deg"][j],
            terrain["aspect_deg"][j], horizon_deg=terrain["horizon_deg"][j])
        np.testing.assert_allclose(together[:, j], one, rtol=1e-12)
        np.testing.assert_allclose(flat[:, j], one_flat, rtol=1e-12)


@pytest.mark.parametrize("model", ["haydavies", "isotropic"])
def test_factorised_shared_station_path_equals_the_pvlib_pass(model, monkeypatch):
    # One station's radiation on every plot (the usual case) takes the factorised path; it must give what
    # pvlib's full pass gives, horizon, flat plots, a missing day and column blocks included.
    terrain = _mixed_plots()
    dates = pd.date_range("2021-06-01", periods=40, freq="D")
    rs = np.random.default_rng(3).uniform(2, 20, dates.size)
    rs[7] = np.nan
    rs_plots = np.repeat(rs[:, None], 6, axis=1)
    rs_plots[:, 5] *= 0.8  # one plot on another station: its own group
    monkeypatch.setattr(slope, "MAX_BLOCK_ELEMENTS", 2000)
    monkeypatch.setattr(slope, "FAST_BLOCK_ELEMENTS", 1000)  # several plot blocks per group
    calls = []
    factorised = slope._daily_sums_shared_ghi
    monkeypatch.setattr(slope, "_daily_sums_shared_ghi", lambda *a, **k: calls.append(1) or factorised(*a, **k))
    fast, fast_flat = slope.daily_plane_of_slope_radiation(dates, rs_plots, model=model, **terrain)
    full, full_flat = slope.daily_plane_of_slope_radiation(dates, rs_plots, model=model, fast=False, **terrain)
    assert len(calls) >= 4  # two sites, three groups, blocks: the factorised path ran
    np.testing.assert_allclose(fast, full, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fast_flat, full_flat, rtol=1e-10, atol=1e-10)
    assert np.isnan(fast[7]).all() and not np.isnan(fast[8]).any()
    assert fast.std(axis=1)[~np.isnan(fast[:, 0])].min() > 0.1  # the plots really differ


# ------------------------------------------------------------------------------------------------------
# Temperature offsets and the orchestrator
# ------------------------------------------------------------------------------------------------------

def test_temperature_offsets_are_c_t_times_radiation_difference():
    assert slope.tmax_offset_c(15.0, 10.0, 0.2) == pytest.approx(1.0)
    assert slope.tmin_offset_c(1.0, 0.15) == pytest.approx(0.15)
    h_slope = xr.DataArray([[4.0, 22.0]], dims=("time", "plot"))
    h_flat = xr.DataArray([[12.0, 12.0]], dims=("time", "plot"))
    d = slope.tmax_offset_c(h_slope, h_flat, 0.25)
    assert isinstance(d, xr.DataArray)
    np.testing.assert_allclose(d.values, [[-2.0, 2.5]])
    np.testing.assert_allclose(slope.tmin_offset_c(d, 0.15).values, [[-0.3, 0.375]])


def _plot_data(ids=("S", "N", "F"), slopes=(25.0, 25.0, 0.0), aspects=(180.0, 0.0, np.nan)):
    n = len(ids)
    return xr.Dataset(
        {"lat": ("plot", np.full(n, FENGJIE[0])), "lon": ("plot", np.full(n, FENGJIE[1])),
         "elevation_m": ("plot", np.full(n, 400.0)),
         "slope_deg": ("plot", np.asarray(slopes, dtype=float)),
         "aspect_deg": ("plot", np.asarray(aspects, dtype=float)),
         "sky_view_factor": ("plot", np.ones(n)),
         "horizon_deg": (("plot", "azimuth"), np.zeros((n, 36)))},
        coords={"plot": list(ids), "azimuth": np.arange(36) * 10.0})


def _weather(ids=("S", "N", "F"), days=10, kt=0.6):
    dates, rs = _january(FENGJIE[0], kt=kt, days=days)
    n = len(ids)
    shape = (dates.size, n)
    ds = xr.Dataset(
        {"rs_mj_m2": (("time", "plot"), np.repeat(rs[:, None], n, axis=1),
                      {"units": "MJ m-2 d-1", "long_name": "daily global (shortwave) radiation"}),
         "tmin_c": (("time", "plot"), np.full(shape, 4.0), {"units": "degC", "long_name": "min"}),
         "tmax_c": (("time", "plot"), np.full(shape, 12.0), {"units": "degC", "long_name": "max"}),
         "tmean_c": (("time", "plot"), np.full(shape, 8.0), {"units": "degC", "long_name": "mean"})},
        coords={"time": dates, "plot": list(ids)},
        attrs={"resolution": "daily", "utc_offset_h": 8, "source": "test"})
    return ds


def test_slope_weather_corrects_temperatures_and_keeps_flat_reference():
    weather = _weather()
    plots = _plot_data(ids=("F", "N", "S"), slopes=(0.0, 25.0, 25.0), aspects=(np.nan, 0.0, 180.0))
    out = slope.slope_weather(weather, plots)
    for name in ("rs_slope_mj_m2", "rs_flat_mj_m2", "delta_tmax_c", "delta_tmin_c", "tmax_flat_c",
                 "tmin_flat_c", "tmean_flat_c"):
        assert name in out and out[name].attrs["units"] and out[name].attrs["long_name"]
    s, n, f = (out.sel(plot=p) for p in ("S", "N", "F"))
    np.testing.assert_allclose(out["rs_flat_mj_m2"], weather["rs_mj_m2"], rtol=1e-12)
    np.testing.assert_allclose(f["delta_tmax_c"], 0.0, atol=1e-9)
    assert float(s["delta_tmax_c"].min()) > 1.0 and float(n["delta_tmax_c"].max()) < -1.0
    c_t, f_min = 0.2, 0.15
    np.testing.assert_allclose(out["delta_tmax_c"], c_t * (out["rs_slope_mj_m2"] - out["rs_flat_mj_m2"]),
                               atol=1e-12)
    np.testing.assert_allclose(out["delta_tmin_c"], f_min * out["delta_tmax_c"], atol=1e-12)
    np.testing.assert_allclose(out["tmax_c"], weather["tmax_c"] + out["delta_tmax_c"], atol=1e-12)
    np.testing.assert_allclose(out["tmin_c"], weather["tmin_c"] + out["delta_tmin_c"], atol=1e-12)
    mean_offset = (out["delta_tmax_c"] + out["delta_tmin_c"]) / 2
    np.testing.assert_allclose(out["tmean_c"], weather["tmean_c"] + mean_offset, atol=1e-12)
    np.testing.assert_allclose(out["tmax_flat_c"], weather["tmax_c"])
    np.testing.assert_allclose(out["rs_mj_m2"], out["rs_slope_mj_m2"])
    assert out.attrs["slope_transposition_model"] == "haydavies"
    assert out.attrs["slope_c_t_degc_per_mj_m2"] == 0.2
    assert out.attrs["slope_parameter_hash"] == slope.slope_parameters().hash
    assert weather["tmax_c"].values.max() == 12.0  # input untouched


def test_slope_weather_overrides_and_extra_dims():
    weather = _weather()
    member = xr.concat([weather, weather.assign(rs_mj_m2=weather["rs_mj_m2"] * 0.4)], dim="member")
    plots = _plot_data()
    base = slope.slope_weather(member, plots)
    stronger = slope.slope_weather(member, plots, {"temperature.c_t": 0.3}, model="isotropic")
    assert set(base["delta_tmax_c"].dims) == {"time", "plot", "member"}
    # duller member -> smaller contrast
    s = base["delta_tmax_c"].sel(plot="S")
    assert float(s.isel(member=1).mean()) < 0.5 * float(s.isel(member=0).mean())
    ratio = stronger["delta_tmax_c"] / (stronger["rs_slope_mj_m2"] - stronger["rs_flat_mj_m2"])
    np.testing.assert_allclose(ratio.sel(plot="S"), 0.3)
    assert stronger.attrs["slope_transposition_model"] == "isotropic"


def test_slope_weather_missing_radiation_leaves_temperature_uncorrected():
    weather = _weather()
    weather["rs_mj_m2"][2, 0] = np.nan
    out = slope.slope_weather(weather, _plot_data())
    assert np.isnan(out["delta_tmax_c"][2, 0])
    assert float(out["tmax_c"][2, 0]) == 12.0
    assert out.attrs["slope_days_uncorrected"] == 1


# ------------------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------------------

def test_nan_terrain_names_the_plots():
    plots = _plot_data(slopes=(25.0, np.nan, 0.0))
    with pytest.raises(InputError, match=r"^plot N has no terrain \(slope/aspect/horizon\); run `orchard "
                                         r"terrain` first\.$"):
        slope.slope_weather(_weather(), plots)
    plots = _plot_data(aspects=(np.nan, np.nan, np.nan))  # F is flat: no aspect needed
    with pytest.raises(InputError, match=r"plots S, N have no terrain"):
        slope.slope_weather(_weather(), plots)


def test_missing_horizon_is_an_input_error():
    with pytest.raises(InputError, match=r"no 'horizon_deg', so the plots have no terrain; run `orchard "
                                         r"terrain` first"):
        slope.slope_weather(_weather(), _plot_data().drop_vars("horizon_deg"))
    plots = _plot_data()
    plots["horizon_deg"][0, 3] = np.nan
    with pytest.raises(InputError, match=r"plot S has no terrain"):
        slope.slope_weather(_weather(), plots)


def test_unknown_model_is_a_parameter_error():
    times = _hours("2021-01-01", 1)
    with pytest.raises(ParameterError, match=r"unknown transposition model 'klutcher'; choose one of "
                                             r"isotropic, haydavies, perez\."):
        slope.plane_of_slope_irradiance(times, np.zeros(24), 31.0, 109.5, 10.0, 180.0, model="klutcher")
    with pytest.raises(ParameterError, match=r"unknown transposition model"):
        slope.slope_weather(_weather(), _plot_data(), model="reindl")
    with pytest.raises(ParameterError, match=r"outside its range"):
        slope.slope_weather(_weather(), _plot_data(), {"radiation.transposition_model": 3})


def test_negative_radiation_is_an_input_error():
    times = _hours("2021-01-01", 1)
    ghi = np.zeros(24)
    ghi[3] = -4.0
    with pytest.raises(InputError, match=r"ghi_w_m2 has 1 negative values \(lowest -4 W m-2\); radiation "
                                         r"cannot be negative"):
        slope.plane_of_slope_irradiance(times, ghi, 31.0, 109.5, 10.0, 180.0)
    weather = _weather()
    weather["rs_mj_m2"][0, 1] = -1.0
    with pytest.raises(InputError, match=r"rs_mj_m2 has 1 negative values"):
        slope.slope_weather(weather, _plot_data())


def test_other_bad_inputs():
    times = _hours("2021-01-01", 1)
    with pytest.raises(ParameterError, match=r"albedo=1.5 must be a single number between 0 and 1"):
        slope.plane_of_slope_irradiance(times, np.zeros(24), 31.0, 109.5, 10.0, 180.0, albedo=1.5)
    with pytest.raises(InputError, match=r"ghi_w_m2 has 24 time steps but times has 23"):
        slope.plane_of_slope_irradiance(times[:-1], np.zeros(24), 31.0, 109.5, 10.0, 180.0)
    with pytest.raises(InputError, match=r"slope outside 0–90 degrees"):
        slope.plane_of_slope_irradiance(times, np.zeros(24), 31.0, 109.5, 120.0, 180.0)
    with pytest.raises(InputError, match=r"plot P2 has weather but no entry in the plots dataset"):
        slope.slope_weather(_weather(ids=("S", "P2")), _plot_data())
    with pytest.raises(InputError, match=r"the weather has no 'rs_mj_m2' \(derive it from sunshine hours"):
        slope.slope_weather(_weather().drop_vars("rs_mj_m2"), _plot_data())
    with pytest.raises(InputError, match=r"rs_mj_m2 exceeds the extraterrestrial radiation on 1 plot-days "
                                         r"\(first: plot N on 2021-01-03, 30.0 > 19.5 MJ m-2 d-1\)"):
        weather = _weather()
        weather["rs_mj_m2"][2, 1] = 30.0
        slope.slope_weather(weather, _plot_data())
    hourly = _weather()
    hourly.attrs["resolution"] = "hourly"
    with pytest.raises(InputError, match=r"needs daily weather"):
        slope.slope_weather(hourly, _plot_data())
