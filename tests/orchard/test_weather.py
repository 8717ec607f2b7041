"""Tests of orchard.weather: FAO-56 radiation (published values), QC, daily<->hourly, climatology, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from orchard import weather as w
from orchard.errors import InputError

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "weather"


# ----------------------------------------------------------------------------------------------------------
# FAO-56 radiation against the published examples
# ----------------------------------------------------------------------------------------------------------

def _fao_rows():
    table = pd.read_csv(DATA / "validation" / "fao56_radiation.csv", comment="#")
    return [row for _, row in table.iterrows()]


@pytest.mark.parametrize("row", _fao_rows(), ids=lambda r: f"example{int(r['example'])}")
def test_fao56_radiation_examples(row):
    lat, doy = row["lat_deg"], int(row["doy"])
    if not np.isnan(row["dr"]):
        assert w.inverse_relative_distance(doy) == pytest.approx(row["dr"], abs=row["tol_dr"])
        assert w.solar_declination(doy) == pytest.approx(row["delta_rad"], abs=row["tol_angle"])
    if not np.isnan(row["omega_s_rad"]):
        assert w.sunset_hour_angle(lat, doy) == pytest.approx(row["omega_s_rad"], abs=row["tol_angle"])
    ra = w.extraterrestrial_radiation_daily(lat, doy)
    if not np.isnan(row["ra_mj_m2"]):
        assert ra == pytest.approx(row["ra_mj_m2"], abs=row["tol_ra"])
    if not np.isnan(row["daylight_h"]):
        assert w.daylight_hours(lat, doy) == pytest.approx(row["daylight_h"], abs=row["tol_n"])
    if not np.isnan(row["rs_mj_m2"]):
        rs = w.radiation_from_sunshine(row["sunshine_h"], lat, doy)
        assert rs == pytest.approx(row["rs_mj_m2"], abs=row["tol_rs"])
    if not np.isnan(row["rso_mj_m2"]):
        assert w.clear_sky_radiation(ra, row["elevation_m"]) == pytest.approx(row["rso_mj_m2"], abs=0.01)


def test_radiation_functions_broadcast_over_xarray_and_arrays():
    lat = xr.DataArray([25.75, 30.66], dims="station")
    doy = xr.DataArray(np.arange(1, 366), dims="time")
    ra = w.extraterrestrial_radiation_daily(lat, doy)
    assert set(ra.dims) == {"station", "time"} and ra.sizes == {"station": 2, "time": 365}
    # summer solstice beats winter solstice in the northern hemisphere; all positive
    assert float(ra.sel(time=171).max()) > float(ra.isel(time=354).max()) > 0
    n = w.daylight_hours(np.array([0.0, 25.75]), 80)
    assert n[0] == pytest.approx(12.0, abs=0.05)


def test_sunshine_ratio_is_capped_and_nan_propagates():
    full = w.radiation_from_sunshine(20.0, 25.75, 180)  # more sunshine than daylight: n/N capped at 1
    assert full == pytest.approx(0.75 * w.extraterrestrial_radiation_daily(25.75, 180))
    assert np.isnan(w.radiation_from_sunshine(np.nan, 25.75, 180))


def test_hourly_extraterrestrial_radiation_sums_to_daily():
    edges = np.linspace(-np.pi, np.pi, 25)
    hourly = w.extraterrestrial_radiation_period(29.56, 200, edges[:-1], edges[1:])
    assert hourly.sum() == pytest.approx(w.extraterrestrial_radiation_daily(29.56, 200), rel=1e-12)
    assert hourly[0] == 0.0 and hourly[12] > 0  # night is zero


def test_wind_height_conversion_fao56_eq47():
    assert w.wind_speed_2m(3.2, 10.0) == pytest.approx(2.39, abs=0.005)  # FAO-56 Chapter 3 example
    assert w.wind_speed_2m(1.0, 10.0) == pytest.approx(0.748, abs=0.0005)
    assert w.wind_speed_2m(2.0, 2.0) == pytest.approx(2.0, abs=1e-3)


def test_vapour_pressure_chapter3_values_and_dewpoint_roundtrip():
    assert w.saturation_vapour_pressure(24.5) == pytest.approx(3.075, abs=0.001)
    assert w.saturation_vapour_pressure(15.0) == pytest.approx(1.705, abs=0.001)
    td = w.dewpoint_from_rh(25.0, 60.0)
    assert w.rh_from_dewpoint(25.0, td) == pytest.approx(60.0, abs=1e-9)
    assert w.dewpoint_from_rh(20.0, 100.0) == pytest.approx(20.0, abs=1e-9)


def test_solar_noon_in_chongqing_is_about_1254_clock_time():
    # FAO-56 Eq. 31 with longitude east: 106.55E in UTC+8 is 0.9 h behind the zone meridian
    noon_clock = 12.0 - (w.solar_time_h(12.0, 81, 106.55, 8) - 12.0)
    assert noon_clock == pytest.approx(12.0 + 13.45 / 15.0, abs=0.15)


# ----------------------------------------------------------------------------------------------------------
# Dataset helpers and time axis
# ----------------------------------------------------------------------------------------------------------

def _daily(data, start="2016-01-01", stations=("A",), lat=(25.75,), lon=(116.33,), elev=(265.0,)):
    n = len(next(iter(data.values())))
    return w.weather_dataset(data, pd.date_range(start, periods=n, freq="D"), list(stations),
                             lat=list(lat), lon=list(lon), elevation_m=list(elev), resolution="daily",
                             source="station: test")


def test_weather_dataset_follows_conventions():
    ds = _daily({"tmax_c": np.array([20.0, 21.0]), "precip_mm": np.array([0.0, 3.0])})
    assert ds.attrs["resolution"] == "daily" and ds.attrs["timezone"] == "UTC+08:00"
    assert ds.attrs["utc_offset_h"] == 8.0 and ds.attrs["source"] == "station: test"
    assert ds["tmax_c"].attrs["units"] == "degC" and "maximum" in ds["tmax_c"].attrs["long_name"]
    assert ds["tmax_c_qc"].dtype == np.uint8
    assert list(ds["tmax_c_qc"].attrs["flag_masks"]) == [1, 2, 4, 8, 16, 32]
    assert ds["time"].dtype == np.dtype("datetime64[ns]")
    assert ds["elevation_m"].attrs["units"] == "m" and ds["station"].values.tolist() == ["A"]
    assert w.timezone_label(5.5) == "UTC+05:30" and w.timezone_label(-3) == "UTC-03:00"


def test_weather_dataset_rejects_tz_aware_times():
    with pytest.raises(InputError, match="local standard time without a time zone"):
        w.weather_dataset({"t_c": [1.0, 2.0]}, pd.date_range("2016-01-01", periods=2, freq="h", tz="UTC"),
                          "A", lat=30, lon=104, resolution="hourly", source="x")


def test_check_time_axis_duplicates_name_time_and_rows():
    times = pd.to_datetime(["2016-03-01", "2016-03-02", "2016-03-02", "2016-03-03"])
    message = r"f\.csv: time 2016-03-02 00:00 appears more than once \(rows 4 and 5\)"
    with pytest.raises(InputError, match=message):
        w.check_time_axis(times, "f.csv", rows=[3, 4, 5, 6])


def test_check_time_axis_out_of_order():
    times = pd.to_datetime(["2016-03-01", "2016-03-03", "2016-03-02"])
    message = r"f\.csv: rows are not in time order at row 3 \(2016-03-02 00:00 after 2016-03-03 00:00\); sort"
    with pytest.raises(InputError, match=message):
        w.check_time_axis(times, "f.csv")
    w.check_time_axis(pd.to_datetime(["2016-03-01", "2016-03-02"]), "ok.csv")  # no error


def test_regular_time_axis_adds_missing_rows_flagged():
    times = pd.to_datetime(["2016-01-01", "2016-01-02", "2016-01-04"])
    ds = w.weather_dataset({"tmax_c": [1.0, 2.0, 4.0]}, times, "A", lat=25, lon=116, resolution="daily",
                           source="x")
    out = w.regular_time_axis(ds)
    assert out.sizes["time"] == 4 and out.attrs["n_time_steps_added"] == 1
    assert np.isnan(out["tmax_c"].values[2, 0]) and out["tmax_c_qc"].values[2, 0] == w.QC_MISSING


# ----------------------------------------------------------------------------------------------------------
# QC
# ----------------------------------------------------------------------------------------------------------

def _qc_input():
    n = 20
    tmin = np.full(n, 10.0)
    tmax = np.full(n, 20.0)
    tmean = np.full(n, 15.0)
    tmax[3] = 65.0  # out of range -> NaN, then filled
    tmin[6], tmax[6] = 22.0, 18.0  # inconsistent: kept, flagged
    tmean[9:11] = np.nan  # 2-day gap: filled
    tmean[12:17] = np.nan  # 5-day gap: left
    tmin[0] = np.nan  # gap at the start: never filled
    rh = np.full(n, 80.0)
    rh[2] = 101.5  # clipped to 100
    rh[5] = 110.0  # out of range
    rs = np.full(n, 10.0)
    rs[8] = 40.0  # above 1.1 Rso in January at 25.75N
    tmean[9 - 1], tmean[11] = 14.0, 17.0  # ends of the short gap
    return _daily({"tmin_c": tmin, "tmax_c": tmax, "tmean_c": tmean, "rh_mean_pct": rh, "rs_mj_m2": rs})


def test_qc_range_sets_nan_flags_and_reports_then_fills():
    out, report = w.qc(_qc_input())
    f = out["tmax_c_qc"].values[:, 0]
    assert f[3] & w.QC_OUT_OF_RANGE and f[3] & w.QC_FILLED
    assert out["tmax_c"].values[3, 0] == pytest.approx(20.0)  # interpolated between neighbours
    recs = [r for r in report.of_kind("out_of_range") if r.variable == "tmax_c"]
    assert len(recs) == 1 and recs[0].start == pd.Timestamp("2016-01-04") and recs[0].n_steps == 1
    # RH: 101.5 clipped without a flag, 110 out of range
    assert out["rh_mean_pct"].values[2, 0] == 100.0 and out["rh_mean_pct_qc"].values[2, 0] == 0
    assert out["rh_mean_pct"].attrs["n_clipped_to_100"] == 1
    assert out["rh_mean_pct_qc"].values[5, 0] & w.QC_OUT_OF_RANGE
    # Rs above 1.1 Rso
    assert out["rs_mj_m2_qc"].values[8, 0] & w.QC_OUT_OF_RANGE
    assert out["rs_mj_m2_qc"].values[7, 0] == 0


def test_qc_inconsistency_flagged_but_kept():
    out, report = w.qc(_qc_input())
    assert out["tmin_c"].values[6, 0] == 22.0 and out["tmax_c"].values[6, 0] == 18.0
    assert out["tmin_c_qc"].values[6, 0] & w.QC_INCONSISTENT
    assert out["tmax_c_qc"].values[6, 0] & w.QC_INCONSISTENT
    assert out["tmean_c_qc"].values[6, 0] & w.QC_INCONSISTENT  # Tmean 15 < Tmin 22
    assert any(r.kind == "inconsistent" and r.start == pd.Timestamp("2016-01-07") for r in report)


def test_qc_fills_short_gaps_and_reports_long_ones():
    out, report = w.qc(_qc_input())
    tmean = out["tmean_c"].values[:, 0]
    flags = out["tmean_c_qc"].values[:, 0]
    assert tmean[9] == pytest.approx(15.0) and tmean[10] == pytest.approx(16.0)  # 14 -> 17 over 3 steps
    assert flags[9] == w.QC_FILLED and flags[10] == w.QC_FILLED
    assert np.isnan(tmean[12:17]).all() and (flags[12:17] == w.QC_MISSING).all()
    assert np.isnan(out["tmin_c"].values[0, 0]) and out["tmin_c_qc"].values[0, 0] == w.QC_MISSING
    long = [r for r in report.long_gaps() if r.variable == "tmean_c"]
    assert len(long) == 1 and long[0].n_steps == 5
    assert "station A, tmean_c: 5 days missing (left NaN), 2016-01-13 to 2016-01-17" in report.summary()
    assert len(report.summary().splitlines()) == len(report.long_gaps()) == 2
    frame = report.to_frame()
    assert set(frame.columns) == {"station", "variable", "start", "end", "n_steps", "kind"}
    assert report.counts()["filled"] >= 3


def test_qc_max_fill_gap_zero_fills_nothing_and_keeps_existing_flags():
    ds = _qc_input()
    ds["rs_mj_m2_qc"][:] = w.QC_DERIVED
    out, report = w.qc(ds, max_fill_gap=0)
    assert np.isnan(out["tmean_c"].values[9, 0])
    assert out["rs_mj_m2_qc"].values[0, 0] == w.QC_DERIVED
    assert out["rs_mj_m2_qc"].values[8, 0] == w.QC_DERIVED | w.QC_OUT_OF_RANGE | w.QC_MISSING
    assert report.of_kind("filled") == []


def test_qc_custom_ranges_and_bad_dataset():
    ds = _daily({"tmax_c": np.array([20.0, 46.0, 21.0])})
    out, _ = w.qc(ds, ranges={"tmax_c": (-10.0, 45.0)})  # the soil.md site range
    assert out["tmax_c_qc"].values[1, 0] & w.QC_OUT_OF_RANGE
    bad = ds.copy()
    bad.attrs["resolution"] = "weekly"
    with pytest.raises(InputError, match="expected 'daily' or 'hourly'"):
        w.qc(bad)


def _hourly(data, start="2016-07-01", station="H", lat=30.66, lon=104.07, elev=506.0):
    n = len(next(iter(data.values())))
    return w.weather_dataset(data, pd.date_range(start, periods=n, freq="h"), station, lat=lat, lon=lon,
                             elevation_m=elev, resolution="hourly", source="station: test")


def test_qc_hourly_spike_dewpoint_and_ghi_limits():
    n = 48
    t = 25 + 5 * np.sin(np.arange(n) / 24 * 2 * np.pi)
    t[10] += 9.0  # spike
    td = t - 3.0
    td[20] = t[20] + 2.0  # dew point above air temperature
    ghi = np.zeros(n)
    ghi[2] = 300.0  # 02:00 in Chengdu: night, impossible
    ghi[13] = 700.0  # plausible midday
    out, report = w.qc(_hourly({"t_c": t, "dewpoint_c": td, "ghi_w_m2": ghi}))
    assert out["t_c_qc"].values[10, 0] & w.QC_SPIKE and out["t_c"].values[10, 0] == pytest.approx(t[10])
    assert out["dewpoint_c_qc"].values[20, 0] & w.QC_INCONSISTENT
    assert out["ghi_w_m2_qc"].values[2, 0] & w.QC_OUT_OF_RANGE
    assert out["ghi_w_m2_qc"].values[13, 0] == 0
    assert any(r.kind == "spike" and r.variable == "t_c" for r in report)


# ----------------------------------------------------------------------------------------------------------
# Daily from hourly
# ----------------------------------------------------------------------------------------------------------

def test_daily_from_hourly_aggregates_and_flags():
    hours = 72
    t = np.tile(np.r_[np.linspace(10, 20, 12), np.linspace(20, 10, 12)], 3)
    rh = np.tile(np.linspace(60, 95, 24), 3)
    precip = np.zeros(hours)
    precip[1:25] = 0.5  # stamps 01:00..24:00 of day 1 (hour-ending): 12 mm on day 1
    ghi = np.full(hours, 100.0)
    wind = np.full(hours, 2.0)
    t[30:33] = np.nan  # day 2: 3 hours missing -> derived
    t[48:54] = np.nan  # day 3: 6 hours missing -> missing (< 20 h)
    ds = _hourly({"t_c": t, "rh_pct": rh, "precip_mm": precip, "ghi_w_m2": ghi, "wind_ms": wind})
    d = w.daily_from_hourly(ds)
    assert d.attrs["resolution"] == "daily" and d.sizes["time"] == 3
    assert d["tmin_c"].values[0, 0] == pytest.approx(10.0) and d["tmax_c"].values[0, 0] == pytest.approx(20.0)
    assert d["tmean_c"].values[0, 0] == pytest.approx(15.0)
    assert d["rh_min_pct"].values[0, 0] == pytest.approx(60)
    assert d["rh_max_pct"].values[0, 0] == pytest.approx(95)
    assert d["precip_mm"].values[0, 0] == pytest.approx(12.0)
    assert d["precip_mm"].values[1, 0] == pytest.approx(0)
    assert d["rs_mj_m2"].values[0, 0] == pytest.approx(8.64)  # 100 W m-2 for 24 h
    assert d["wind_ms"].values[0, 0] == pytest.approx(2.0)
    assert d["tmin_c_qc"].values[1, 0] == w.QC_DERIVED and not np.isnan(d["tmin_c"].values[1, 0])
    assert np.isnan(d["tmax_c"].values[2, 0]) and d["tmax_c_qc"].values[2, 0] & w.QC_MISSING
    # the last day's precipitation lacks its 24:00 hour (next day's 00:00 stamp): derived, 23 hours
    assert d["precip_mm_qc"].values[2, 0] == w.QC_DERIVED
    assert d["tmax_c"].attrs["units"] == "degC" and "daily from hourly" in d.attrs["source"]


def test_daily_from_hourly_carries_filled_flag_and_needs_hourly():
    t = np.full(48, 15.0)
    ds = _hourly({"t_c": t})
    ds["t_c_qc"].values[5, 0] = w.QC_FILLED
    d = w.daily_from_hourly(ds)
    assert d["tmean_c_qc"].values[0, 0] == w.QC_FILLED and d["tmean_c_qc"].values[1, 0] == 0
    with pytest.raises(InputError, match="needs an hourly dataset"):
        w.daily_from_hourly(_daily({"tmax_c": np.array([1.0, 2.0])}))


# ----------------------------------------------------------------------------------------------------------
# Hourly from daily
# ----------------------------------------------------------------------------------------------------------

def _smooth_daily(n=40):
    doy = np.arange(n)
    tmin = 20 + 2 * np.sin(doy / 9)
    tmax = tmin + 9 + 1.5 * np.cos(doy / 7)
    return _daily({"tmin_c": tmin, "tmax_c": tmax, "rh_mean_pct": np.full(n, 80.0),
                   "precip_mm": np.where(doy % 5 == 0, 12.0, 0.0), "rs_mj_m2": np.full(n, 18.0),
                   "wind_ms": np.full(n, 1.3)}, start="2016-05-01", lat=(29.56,), lon=(106.55,), elev=(244,))


def test_hourly_from_daily_reproduces_daily_extremes_and_humidity():
    daily = _smooth_daily()
    hourly = w.hourly_from_daily(daily)
    assert hourly.attrs["resolution"] == "hourly" and hourly.sizes["time"] == 40 * 24
    t = hourly["t_c"].values[:, 0].reshape(40, 24)
    np.testing.assert_allclose(t.min(axis=1), daily["tmin_c"].values[:, 0], atol=0.5)
    np.testing.assert_allclose(t.max(axis=1), daily["tmax_c"].values[:, 0], atol=0.5)
    # the maximum falls in the afternoon (14:00 solar = about 14:55 Beijing time at 106.55E)
    assert np.all((t.argmax(axis=1) >= 14) & (t.argmax(axis=1) <= 16))
    assert np.all((t.argmin(axis=1) >= 5) & (t.argmin(axis=1) <= 7))
    rh = hourly["rh_pct"].values[:, 0].reshape(40, 24)
    assert rh.max() <= 100.0
    np.testing.assert_allclose(rh.mean(axis=1), 80.0, atol=3.0)
    td = hourly["dewpoint_c"].values[:, 0].reshape(40, 24)
    assert np.all(np.ptp(td, axis=1) < 1e-9)  # constant daily dew point
    # precipitation: hour-ending spread, so day d's total sits in stamps 01:00..24:00
    p = hourly["precip_mm"].values[:, 0]
    assert np.isnan(p[0]) and p[1] == pytest.approx(0.5) and p[24] == pytest.approx(0.5) and p[25] == 0.0
    assert "spread evenly" in hourly["precip_mm"].attrs["derivation"]
    ghi = hourly["ghi_w_m2"].values[:, 0]
    assert ghi[1:25].sum() * 3600 / 1e6 == pytest.approx(18.0, rel=1e-9)
    assert ghi[1:5].max() == 0.0  # night
    assert (hourly["t_c_qc"].values == w.QC_DERIVED).all()
    assert "Parton & Logan" in hourly["t_c"].attrs["derivation"]


def test_hourly_from_daily_on_changting_record():
    from orchard.sources.station_csv import read_changting_daily

    daily = read_changting_daily(SAMPLE / "changting_58911_meteo_daily.csv").isel(time=slice(0, 730))
    hourly = w.hourly_from_daily(daily)
    back = w.daily_from_hourly(hourly)
    err_max = np.abs(back["tmax_c"].values - daily["tmax_c"].values)
    err_min = np.abs(back["tmin_c"].values - daily["tmin_c"].values)
    # calendar-day extremes differ only on days when the neighbour day is much colder or warmer
    assert np.median(err_max) < 0.3 and np.median(err_min) < 0.3
    assert np.mean(err_min < 0.5) > 0.8 and np.mean(err_max < 0.5) > 0.9
    rh_err = np.abs(back["rh_mean_pct"].values - daily["rh_mean_pct"].values)
    assert np.median(rh_err) < 3.0


def test_hourly_from_daily_needs_tmin_tmax():
    with pytest.raises(InputError, match="needs tmin_c"):
        w.hourly_from_daily(_daily({"tmax_c": np.array([20.0, 21.0])}))


# ----------------------------------------------------------------------------------------------------------
# Climatology
# ----------------------------------------------------------------------------------------------------------

def test_climatology_recovers_seasonal_cycle():
    times = pd.date_range("2010-01-01", "2017-12-31", freq="D")
    doy = w.leap_day_of_year(times)
    rng = np.random.default_rng(0)
    truth = 18 - 9 * np.cos(2 * np.pi * (doy - 15) / 366)
    tmean = truth + rng.normal(0, 2.0, len(times))
    precip = np.where(rng.random(len(times)) < 0.4, 10.0, 0.0)
    ds = w.weather_dataset({"tmean_c": tmean, "precip_mm": precip}, times, "A", lat=25.75, lon=116.33,
                           resolution="daily", source="station: synthetic")
    ds["tmean_c"][100:140] = np.nan  # gaps are ignored
    clim = w.climatology(ds, window_days=31)
    assert clim.sizes["dayofyear"] == 366 and clim["dayofyear"].values[[0, -1]].tolist() == [1, 366]
    expected = 18 - 9 * np.cos(2 * np.pi * (np.arange(1, 367) - 15) / 366)
    # a 31-day window damps the cycle by < 2 %; noise of 2 °C over ~250 values averages to ~0.13
    np.testing.assert_allclose(clim["tmean_c"].values[:, 0], expected, atol=0.6)
    assert np.isfinite(clim["tmean_c"].values).all()
    assert clim["precip_mm"].values.mean() == pytest.approx(4.0, abs=0.3)
    assert clim.attrs["years"] == "2010-2017" and clim.attrs["window_days"] == 31
    assert "climatology of station" in clim.attrs["source"]
    # circular: 31 December and 1 January are close
    assert abs(clim["tmean_c"].values[0, 0] - clim["tmean_c"].values[-1, 0]) < 0.5


def test_climatology_series_for_future_dates():
    times = pd.date_range("2012-01-01", "2015-12-31", freq="D")
    values = w.leap_day_of_year(times).astype(float)  # the value is the day of year itself
    ds = w.weather_dataset({"tmax_c": values}, times, "A", lat=25.75, lon=116.33, resolution="daily",
                           source="station: x")
    clim = w.climatology(ds, window_days=1)
    series = w.climatology_series(clim, "2026-02-27", "2026-03-02")
    assert series.attrs["source"] == "climatology" and series.attrs["resolution"] == "daily"
    assert series.sizes["time"] == 4 and series["tmax_c"].dims == ("time", "station")
    # 2026 is not a leap year: 28 Feb -> leap doy 59, 1 Mar -> 61
    assert series["tmax_c"].values[:, 0].tolist() == [58.0, 59.0, 61.0, 62.0]
    assert (series["tmax_c_qc"].values == w.QC_DERIVED).all()
    assert series["lat"].values[0] == 25.75


# ----------------------------------------------------------------------------------------------------------
# Weather for plots
# ----------------------------------------------------------------------------------------------------------

def _stations():
    n = 5
    data = {"tmin_c": np.tile([10.0, 12.0, 14.0], (n, 1)), "tmax_c": np.tile([20.0, 22.0, 24.0], (n, 1)),
            "precip_mm": np.tile([1.0, 2.0, 3.0], (n, 1))}
    return w.weather_dataset(data, pd.date_range("2016-01-01", periods=n, freq="D"), ["S1", "S2", "S3"],
                             lat=[25.75, 29.56, 30.66], lon=[116.33, 106.55, 104.07],
                             elevation_m=[265, 244, np.nan], resolution="daily", source="station: test")


def _plots(station_id=("", "", "S1", "", "")):
    return xr.Dataset(
        {"lat": ("plot", [25.80, 29.50, 30.70, 30.60, 29.60]),
         "lon": ("plot", [116.30, 106.50, 104.00, 104.10, 106.60]),
         "elevation_m": ("plot", [465.0, 144.0, 600.0, 500.0, np.nan]),
         "station_id": ("plot", list(station_id))},
        coords={"plot": ["p1", "p2", "p3", "p4", "p5"]})


def test_weather_for_plots_nearest_named_and_lapse_rate():
    out = w.weather_for_plots(_stations(), _plots())
    assert out["tmin_c"].dims == ("time", "plot") and out.sizes["plot"] == 5
    assert out["station_id"].values.tolist() == ["S1", "S2", "S1", "S3", "S2"]  # p3 is named S1
    assert out["distance_km"].values[0] == pytest.approx(
        w.great_circle_km(25.80, 116.30, 25.75, 116.33), rel=1e-9)
    assert out["distance_km"].values[2] > 1000  # named station far away is honoured
    # p1 is 200 m above S1: 1.2 °C colder; p2 100 m below S2: 0.6 °C warmer
    assert out["tmin_c"].values[0, 0] == pytest.approx(10.0 - 1.2)
    assert out["tmax_c"].values[0, 1] == pytest.approx(22.0 + 0.6)
    # p3 (600 m) on S1 (265 m)
    assert out["tmin_c"].values[0, 2] == pytest.approx(10.0 - 0.6 * 3.35)
    # p4 uses S3 whose elevation is unknown; p5 has no elevation: not adjusted, and said so
    assert out["tmin_c"].values[0, 3] == 14.0 and out["tmin_c"].values[0, 4] == 12.0
    assert out["lapse_adjusted"].values.tolist() == [True, True, True, False, False]
    assert "2 plots" in out.attrs["lapse_rate_not_applied"]
    assert out["precip_mm"].values[0].tolist() == [1.0, 2.0, 1.0, 3.0, 2.0]  # not adjusted
    assert out.attrs["lapse_rate_c_per_100m"] == 0.6 and "lapse-rate adjusted" in out.attrs["source"]
    assert out["tmin_c_qc"].dims == ("time", "plot")


def test_weather_for_plots_station_ids_override_and_unknown_station():
    out = w.weather_for_plots(_stations(), _plots(), station_ids=["S3"] * 5, lapse_rate_c_per_100m=0.0)
    assert set(out["station_id"].values) == {"S3"} and out["tmin_c"].values[0, 0] == 14.0
    with pytest.raises(InputError, match="plot p3 names station 'S9', which is not in the weather data"):
        w.weather_for_plots(_stations(), _plots(station_id=("", "", "S9", "", "")))


def test_weather_for_plots_dewpoint_recomputed_and_rh_kept():
    n = 3
    hourly = w.weather_dataset({"t_c": np.full((n, 1), 20.0), "rh_pct": np.full((n, 1), 70.0),
                                "dewpoint_c": np.full((n, 1), w.dewpoint_from_rh(20.0, 70.0))},
                               pd.date_range("2016-01-01", periods=n, freq="h"), ["S1"], lat=[25.75],
                               lon=[116.33], elevation_m=[265.0], resolution="hourly", source="x")
    plots = xr.Dataset({"lat": ("plot", [25.7]), "lon": ("plot", [116.3]), "elevation_m": ("plot", [765.0])},
                       coords={"plot": ["p"]})
    out = w.weather_for_plots(hourly, plots)
    assert out["t_c"].values[0, 0] == pytest.approx(17.0)
    assert out["rh_pct"].values[0, 0] == 70.0
    assert out["dewpoint_c"].values[0, 0] == pytest.approx(w.dewpoint_from_rh(17.0, 70.0))


# ----------------------------------------------------------------------------------------------------------
# Long format
# ----------------------------------------------------------------------------------------------------------

def test_weather_long_roundtrip():
    ds = _stations()
    ds["tmin_c"].values[2, 1] = np.nan
    ds["tmin_c_qc"].values[2, 1] = w.QC_MISSING
    ds["tmax_c_qc"].values[0, 0] = w.QC_FILLED
    long = w.weather_to_long(ds)
    assert list(long.columns) == ["station_id", "variable", "time_utc", "value", "qc_flags"]
    assert len(long) == 3 * 5 * 3
    first = long.iloc[0]
    assert str(first["time_utc"].tz) == "UTC"
    assert first["time_utc"] == pd.Timestamp("2015-12-31 16:00", tz="UTC")  # local midnight, UTC+8
    stations = pd.DataFrame({"station_id": ["S1", "S2", "S3"], "lat": ds["lat"].values,
                             "lon": ds["lon"].values, "elevation_m": ds["elevation_m"].values,
                             "resolution": "daily"})
    back = w.weather_from_long(long, stations, source="station: test")
    xr.testing.assert_identical(back, ds)


def test_weather_from_long_rejects_bad_tables():
    long = w.weather_to_long(_stations())
    stations = pd.DataFrame({"station_id": ["S1", "S2", "S3"], "lat": 0.0, "lon": 0.0, "elevation_m": 0.0,
                             "resolution": ["daily", "daily", "hourly"]})
    with pytest.raises(InputError, match="different resolution values"):
        w.weather_from_long(long, stations)
    with pytest.raises(InputError, match="lacks columns qc_flags"):
        w.weather_from_long(long.drop(columns="qc_flags"), stations)
