"""Tests of the weather readers: station CSV (generic and presets), NetCDF, Open-Meteo."""

from __future__ import annotations

import io
import json
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from orchard import weather as w
from orchard.errors import InputError
from orchard.sources import read_weather
from orchard.sources.netcdf import read_netcdf
from orchard.sources.openmeteo import fetch_openmeteo, openmeteo_url, parse_openmeteo, read_openmeteo
from orchard.sources.station_csv import (read_changting_daily, read_station_csv, read_uci_hourly,
                                         utc_offset_from_tz, wind_from_cumulated)

DATA = Path(__file__).resolve().parents[1] / "data"
WEATHER = DATA / "weather"
OPENMETEO = DATA / "openmeteo"
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "weather"
CHANGTING = SAMPLE / "changting_58911_meteo_daily.csv"
HETIAN = SAMPLE / "changting_hetian_81502750_pcp_daily.csv"
CHENGDU = SAMPLE / "chengdu_hourly_2010_2015.csv"


def _write(tmp_path, text, name="w.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


DAILY_ARGS = dict(station_id="S", lat=25.75, lon=116.33, elevation_m=265.0)


# ----------------------------------------------------------------------------------------------------------
# Generic station CSV
# ----------------------------------------------------------------------------------------------------------

def test_station_csv_with_our_column_names():
    ds = read_station_csv(WEATHER / "daily_ournames.csv", **DAILY_ARGS)
    assert ds.attrs["resolution"] == "daily" and ds.sizes["time"] == 10  # the absent 5 March added
    assert ds.attrs["source"] == "station: daily_ournames.csv" and ds.attrs["timezone"] == "UTC+08:00"
    assert "assumed" in ds.attrs["time_zone_note"]
    assert pd.Timestamp(ds["time"].values[4]) == pd.Timestamp("2016-03-05")
    assert np.isnan(ds["tmin_c"].values[4, 0]) and ds["tmin_c_qc"].values[4, 0] == w.QC_MISSING
    assert np.isnan(ds["tmax_c"].values[7, 0]) and ds["tmax_c_qc"].values[7, 0] == w.QC_MISSING  # "NA"
    assert ds["tmin_c"].values[0, 0] == 8.1 and ds["precip_mm"].values[5, 0] == 12.7
    # wind at 10 m (default) converted to 2 m, height recorded
    assert ds["wind_ms"].values[0, 0] == pytest.approx(1.8 * 0.748, abs=0.001)
    assert ds["wind_ms"].attrs["measurement_height_m"] == 10.0
    assert "Eq. 47" in ds["wind_ms"].attrs["height_conversion"]
    # radiation derived from sunshine, flagged derived
    assert ds["rs_mj_m2_qc"].values[0, 0] == w.QC_DERIVED
    assert ds["rs_mj_m2"].values[0, 0] == pytest.approx(w.radiation_from_sunshine(5.1, 25.75, 61))
    assert "Angström" in ds["rs_mj_m2"].attrs["derivation"]


def test_station_csv_undeclared_fahrenheit_is_refused():
    cols = {"tmin_c": "low_F", "tmax_c": "high_F", "precip_mm": "rain_in"}
    message = (r"column 'low_F' \(tmin_c\) has 4 values above 60 \(first 75.2 at row 2\), which looks like "
               r"°F; pass units \{'tmin_c': 'degF'\}")
    with pytest.raises(InputError, match=message):
        read_station_csv(WEATHER / "daily_degf.csv", columns=cols, time_column="date", **DAILY_ARGS)


def test_station_csv_declared_units_are_converted():
    ds = read_station_csv(WEATHER / "daily_degf.csv", columns={"tmin_c": "low_F", "tmax_c": "high_F",
                                                                 "precip_mm": "rain_in"},
                          time_column="date", units={"tmin_c": "degF", "tmax_c": "°F", "precip_mm": "in"},
                          **DAILY_ARGS)
    assert ds["tmax_c"].values[0, 0] == pytest.approx(34.0)
    assert ds["tmin_c"].values[0, 0] == pytest.approx(24.0)
    assert ds["precip_mm"].values[2, 0] == pytest.approx(1.05 * 25.4)
    assert ds["tmax_c"].attrs["file_units"] == "°F"


def test_station_csv_kelvin_is_recognised(tmp_path):
    path = _write(tmp_path, "time,t\n2016-01-01,290.1\n2016-01-02,291.3\n")
    with pytest.raises(InputError, match=r"looks like kelvin; pass units=\{'tmax_c': 'K'\}"):
        read_station_csv(path, columns={"tmax_c": "t"}, **DAILY_ARGS)
    ds = read_station_csv(path, columns={"tmax_c": "t"}, units={"tmax_c": "K"}, **DAILY_ARGS)
    assert ds["tmax_c"].values[0, 0] == pytest.approx(16.95)


def test_station_csv_humidity_fraction():
    cols = {"t_c": "temp", "rh_pct": "rh"}
    message = (r"column 'rh' \(rh_pct\) has no value above 1.5, so humidity looks like a fraction; declare "
               r"units=\{'rh_pct': 'fraction'\}")
    with pytest.raises(InputError, match=message):
        read_station_csv(WEATHER / "hourly_rh_fraction.csv", columns=cols, time_column="timestamp",
                         station_id="H", lat=30.66, lon=104.07)
    ds = read_station_csv(WEATHER / "hourly_rh_fraction.csv", columns=cols, time_column="timestamp",
                          units={"rh_pct": "fraction"}, station_id="H", lat=30.66, lon=104.07)
    assert ds["rh_pct"].values[0, 0] == pytest.approx(91.0)
    assert ds.attrs["resolution"] == "hourly" and ds.attrs["utc_offset_h"] == 8.0  # from '#LOCALTIME 8'
    # dew point derived from t and RH, flagged derived
    assert ds["dewpoint_c_qc"].values[0, 0] == w.QC_DERIVED
    assert ds["dewpoint_c"].values[0, 0] == pytest.approx(w.dewpoint_from_rh(26.1, 91.0))


def test_station_csv_fraction_declared_but_percent_given(tmp_path):
    path = _write(tmp_path, "time,rh\n2016-01-01,85\n2016-01-02,80\n")
    with pytest.raises(InputError, match="declared as a fraction but column 'rh' has 85 at row 2"):
        read_station_csv(path, columns={"rh_mean_pct": "rh"}, units={"rh_mean_pct": "fraction"}, **DAILY_ARGS)


def test_station_csv_missing_column_names_it_and_lists_columns():
    message = (r"column 'TMAX' \(for tmax_c\) is missing; the file has columns time, tmin_c, tmax_c, "
               r"tmean_c, rh_mean_pct, precip_mm, wind_ms, sunshine_h")
    with pytest.raises(InputError, match=message):
        read_station_csv(WEATHER / "daily_ournames.csv", columns={"tmax_c": "TMAX"}, **DAILY_ARGS)


def test_station_csv_duplicated_timestamps(tmp_path):
    path = _write(tmp_path, "#LOCALTIME 8\ntime,tmax_c\n2016-01-01,10\n2016-01-02,11\n2016-01-02,12\n")
    with pytest.raises(InputError, match=r"time 2016-01-02 00:00 appears more than once \(rows 4 and 5\)"):
        read_station_csv(path, **DAILY_ARGS)
    # two stamps on the same day in a daily file are the same day
    path = _write(tmp_path, "time,tmax_c\n2016-01-01 08:00,10\n2016-01-01 20:00,11\n", "d2.csv")
    with pytest.raises(InputError, match="appears more than once"):
        read_station_csv(path, resolution="daily", **DAILY_ARGS)


def test_station_csv_out_of_order(tmp_path):
    path = _write(tmp_path, "time,tmax_c\n2016-01-01,10\n2016-01-03,11\n2016-01-02,12\n")
    message = r"w\.csv: rows are not in time order at row 4 \(2016-01-02 00:00 after 2016-01-03 00:00\); sort"
    with pytest.raises(InputError, match=message):
        read_station_csv(path, **DAILY_ARGS)


def test_station_csv_hourly_without_time_zone(tmp_path):
    path = _write(tmp_path, "time,t_c\n2016-01-01 00:00,10\n2016-01-01 01:00,11\n2016-01-01 02:00,12\n")
    with pytest.raises(InputError, match="hourly time stamps have no time zone; pass utc_offset_h"):
        read_station_csv(path, **DAILY_ARGS)
    ds = read_station_csv(path, utc_offset_h=8, **DAILY_ARGS)
    assert ds.attrs["resolution"] == "hourly"
    assert pd.Timestamp(ds["time"].values[0]) == pd.Timestamp("2016-01-01")
    ds = read_station_csv(path, tz="Asia/Shanghai", **DAILY_ARGS)
    assert ds.attrs["timezone"] == "UTC+08:00"


def test_station_csv_timestamps_with_offset_and_utc_header(tmp_path):
    path = _write(tmp_path, "time,t_c\n2016-01-01T00:00Z,10\n2016-01-01T01:00Z,11\n")
    ds = read_station_csv(path, utc_offset_h=8, **DAILY_ARGS)
    assert pd.Timestamp(ds["time"].values[0]) == pd.Timestamp("2016-01-01 08:00")
    path = _write(tmp_path, "#UTCTIME\ntime,t_c\n2016-01-01 00:00,10\n2016-01-01 01:00,11\n", "u.csv")
    ds = read_station_csv(path, utc_offset_h=8, **DAILY_ARGS)
    assert pd.Timestamp(ds["time"].values[1]) == pd.Timestamp("2016-01-01 09:00")
    path = _write(tmp_path, "time,t_c\n2016-01-01T00:00+08:00,10\n2016-01-01 01:00,11\n", "m.csv")
    with pytest.raises(InputError, match="mixes time stamps with and without a time zone"):
        read_station_csv(path, **DAILY_ARGS)
    path = _write(tmp_path, "#LOCALTIME 8\ntime,t_c\n2016-01-01 00:00,10\n2016-01-01 01:00,11\n", "l.csv")
    with pytest.raises(InputError, match=r"#LOCALTIME\) but utc_offset_h=9 was given"):
        read_station_csv(path, utc_offset_h=9, **DAILY_ARGS)


def test_station_csv_non_numeric_value_names_row_and_column(tmp_path):
    path = _write(tmp_path, "# comment line\ntime,tmin_c,tmax_c\n2016-01-01,3.0,10\n2016-01-02,4.1,1O.5\n")
    with pytest.raises(InputError, match=r"row 4, column 'tmax_c': '1O.5' is not a number"):
        read_station_csv(path, **DAILY_ARGS)


def test_station_csv_bad_time_stamp(tmp_path):
    path = _write(tmp_path, "time,tmax_c\n2016-01-01,10\n2016-13-45,11\n")
    with pytest.raises(InputError, match=r"row 3, column 'time': '2016-13-45' is not a date/time"):
        read_station_csv(path, **DAILY_ARGS)


def test_station_csv_empty_and_header_only(tmp_path):
    with pytest.raises(InputError, match="the weather file is empty"):
        read_station_csv(_write(tmp_path, "", "e.csv"), **DAILY_ARGS)
    with pytest.raises(InputError, match="has a header but no data rows"):
        read_station_csv(_write(tmp_path, "time,tmax_c\n", "h.csv"), **DAILY_ARGS)
    with pytest.raises(InputError, match="has no header line and no data"):
        read_station_csv(_write(tmp_path, "#LOCALTIME 8\n\n", "c.csv"), **DAILY_ARGS)
    with pytest.raises(InputError, match="no such weather file"):
        read_station_csv(tmp_path / "absent.csv", **DAILY_ARGS)


def test_station_csv_ragged_row_is_a_parse_error(tmp_path):
    path = _write(tmp_path, "#LOCALTIME 8\ntime,tmax_c\n2016-01-01,10\n2016-01-02,11,5,6\n")
    with pytest.raises(InputError, match=r"row 4 has 4 fields but the header names 2 columns"):
        read_station_csv(path, **DAILY_ARGS)


def test_station_csv_wrong_delimiter_is_named(tmp_path):
    path = _write(tmp_path, "time;tmax_c\n2016-01-01;10\n2016-01-02;11\n")
    with pytest.raises(InputError, match="the header has a single column .*is the delimiter ';'"):
        read_station_csv(path, **DAILY_ARGS)
    ds = read_station_csv(path, delimiter=";", **DAILY_ARGS)
    assert ds["tmax_c"].values[:, 0].tolist() == [10.0, 11.0]


def test_station_csv_time_parts_and_unknown_variable(tmp_path):
    path = _write(tmp_path, "y,m,d,h,temp\n2016,1,1,0,5\n2016,1,1,1,6\n2016,1,1,3,7\n")
    parts = {"year": "y", "month": "m", "day": "d", "hour": "h"}
    ds = read_station_csv(path, columns={"t_c": "temp"}, time_parts=parts, utc_offset_h=8, **DAILY_ARGS)
    assert ds.sizes["time"] == 4 and np.isnan(ds["t_c"].values[2, 0])  # 02:00 absent -> added, flagged
    assert ds["t_c_qc"].values[2, 0] == w.QC_MISSING
    with pytest.raises(InputError, match="'t_max' in `columns` is not a weather variable"):
        read_station_csv(path, columns={"t_max": "temp"}, time_parts=parts, utc_offset_h=8, **DAILY_ARGS)


def test_utc_offset_from_tz():
    assert utc_offset_from_tz("UTC+08:00") == 8.0 and utc_offset_from_tz("+0530") == 5.5
    assert utc_offset_from_tz("Asia/Shanghai") == 8.0 and utc_offset_from_tz("Europe/Berlin") == 1.0
    with pytest.raises(InputError, match="time zone 'Mars/Base' is not known"):
        utc_offset_from_tz("Mars/Base")


def test_wind_from_cumulated_rule():
    iws = [1, 3, 6, 1, 2, np.nan, 5, 1, 1, 4, 2]
    cbwd = ["cv", "cv", "cv", "NW", "NW", "NW", "NW", "SE", "SE", "SE", "SE"]
    speed = wind_from_cumulated(iws, cbwd)
    expected = [np.nan, 2, 3, 1, 1, np.nan, np.nan, 1, 0, 3, 2]  # 4 -> 2 in a run: a restart
    np.testing.assert_allclose(speed, expected)
    speed = wind_from_cumulated([1, 3, 6], ["NE", "NE", "NE"], consecutive=[False, True, False])
    np.testing.assert_allclose(speed, [np.nan, 2, np.nan])


# ----------------------------------------------------------------------------------------------------------
# Presets on the real sample files
# ----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def changting():
    return read_changting_daily(CHANGTING, HETIAN)


def test_changting_daily_matches_source_notes(changting):
    ds = changting
    assert ds.sizes == {"time": 2922, "station": 1}
    t = pd.DatetimeIndex(ds["time"].values)
    assert t[0] == pd.Timestamp("2010-01-01") and t[-1] == pd.Timestamp("2017-12-31")
    assert ds["station"].values[0] == "58911" and float(ds["lat"][0]) == 25.75
    assert float(ds["elevation_m"][0]) == 265
    tmax, tmin = ds["tmax_c"].values[:, 0], ds["tmin_c"].values[:, 0]
    assert tmax[t.month.isin([7, 8])].mean() == pytest.approx(33.0, abs=0.5)  # SOURCE.txt: Jul/Aug TMAX 33
    assert tmax.max() == pytest.approx(37.8)
    assert tmin[t.month == 1].mean() == pytest.approx(5.3, abs=0.1)
    assert ds["rh_mean_pct"].mean() == pytest.approx(78.3, abs=0.2)
    assert ds.attrs["utc_offset_h"] == 8.0 and "LOCALTIME" in ds.attrs["time_zone_note"]
    assert ds["wind_ms"].attrs["measurement_height_m"] == 10.0
    assert (ds["rs_mj_m2_qc"].values == w.QC_DERIVED).all()
    assert 10 < float(ds["rs_mj_m2"].mean()) < 18  # humid subtropics, ~4.3 h sunshine per day


def test_changting_rain_gauge_merged(changting):
    ds = changting
    t = pd.DatetimeIndex(ds["time"].values)
    p, f = ds["precip_mm"].values[:, 0], ds["precip_mm_qc"].values[:, 0]
    assert np.isnan(p[t.year < 2012]).all() and (f[t.year < 2012] == w.QC_MISSING).all()
    totals = pd.Series(p).groupby(t.year).sum()
    assert totals.loc[2012:].min() == pytest.approx(1253.5)  # SOURCE.txt: annual totals 1,254-2,468 mm
    assert totals.loc[2012:].max() == pytest.approx(2467.6)
    assert p[t == pd.Timestamp("2012-01-03")][0] == 9.0  # third row of the gauge file
    assert p[t == pd.Timestamp("2016-01-01")][0] == 0.0  # first 20:00 stamp
    assert "81502750" in ds["precip_mm"].attrs["gauge"] and "20:00:00" in ds["precip_mm"].attrs["time_stamps"]
    assert "rain gauge" in ds.attrs["source"]
    _, report = w.qc(ds)
    expected = "station 58911, precip_mm: 730 days missing (left NaN), 2010-01-01 to 2011-12-31"
    assert report.summary() == expected


@pytest.fixture(scope="module")
def chengdu():
    return read_uci_hourly(CHENGDU)


def test_chengdu_hourly_reads_and_matches_source_notes(chengdu):
    ds = chengdu
    assert ds.sizes == {"time": 52584, "station": 1} and ds.attrs["resolution"] == "hourly"
    t = pd.DatetimeIndex(ds["time"].values)
    assert t[0] == pd.Timestamp("2010-01-01 00:00") and t[-1] == pd.Timestamp("2015-12-31 23:00")
    annual = pd.Series(ds["precip_mm"].values[:, 0]).groupby(t.year).sum()
    assert annual.min() == pytest.approx(615, abs=1) and annual.max() == pytest.approx(1332, abs=1)
    for name in ("t_c", "rh_pct", "dewpoint_c"):
        assert np.isnan(ds[name].values).mean() == pytest.approx(0.010, abs=0.002)  # ~1 % missing
    wind = ds["wind_ms"].values[:, 0]
    assert 0.8 < np.nanmean(wind) < 1.6 and np.nanmax(wind) < 15  # Chengdu is famously calm
    assert "cumulated" in ds["wind_ms"].attrs["derivation"]


def test_chengdu_qc_fills_short_gaps_and_reports_long_ones(chengdu):
    out, report = w.qc(chengdu)
    f = out["t_c_qc"].values[:, 0]
    filled, missing = (f & w.QC_FILLED) > 0, (f & w.QC_MISSING) > 0
    assert 0.0005 < filled.mean() < 0.005 and 0.005 < missing.mean() < 0.015
    assert not np.isnan(out["t_c"].values[filled, 0]).any() and np.isnan(out["t_c"].values[missing, 0]).all()
    longs = [r for r in report.long_gaps() if r.variable == "t_c"]
    assert longs and all(r.n_steps > 3 for r in longs)
    assert sum(r.n_steps for r in longs) == int(missing.sum())
    daily = w.daily_from_hourly(out)
    td = pd.DatetimeIndex(daily["time"].values)
    tmax = daily["tmax_c"].values[:, 0]
    assert np.nanmean(tmax[td.month.isin([7, 8])]) == pytest.approx(31, abs=0.5)  # SOURCE.txt: 31 °C
    assert np.nanmean(daily["tmin_c"].values[:, 0][td.month == 1]) == pytest.approx(4, abs=0.5)


# ----------------------------------------------------------------------------------------------------------
# NetCDF
# ----------------------------------------------------------------------------------------------------------

def _era5_grid(tmp_path, name="era5.nc", hours=48, drop=None, time_units=True):
    times = pd.date_range("2016-07-01", periods=hours, freq="h")
    lat = np.array([30.0, 29.9, 29.8, 29.7, 29.6, 29.5])
    lon = np.array([106.4, 106.5, 106.6, 106.7])
    shape = (hours, len(lat), len(lon))
    rng = np.random.default_rng(1)
    t2m = 300.15 + rng.normal(0, 1, shape)
    ds = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), t2m, {"units": "K"}),
         "d2m": (("time", "latitude", "longitude"), t2m - 5.0, {"units": "K"}),
         "tp": (("time", "latitude", "longitude"), np.full(shape, 0.0005), {"units": "m"}),
         "u10": (("time", "latitude", "longitude"), np.full(shape, 3.0), {"units": "m s**-1"}),
         "v10": (("time", "latitude", "longitude"), np.full(shape, 4.0), {"units": "m s**-1"}),
         "ssrd": (("time", "latitude", "longitude"), np.full(shape, 1.8e6), {"units": "J m**-2"})},
        coords={"time": times, "latitude": lat, "longitude": lon})
    if drop:
        ds = ds.drop_vars(drop)
    path = tmp_path / name
    if not time_units:
        ds = ds.assign_coords(time=np.arange(hours))
    ds.to_netcdf(path)
    return path, ds


def test_netcdf_era5_grid_nearest_cells_and_units(tmp_path):
    path, raw = _era5_grid(tmp_path)
    ds = read_netcdf(path, points={"cq": (29.56, 106.55), "north": (29.98, 106.41)})
    assert ds["station"].values.tolist() == ["cq", "north"] and ds.attrs["resolution"] == "hourly"
    assert ds["lat"].values.tolist() == [29.6, 30.0] and ds["lon"].values[0] in (106.5, 106.6)
    cell = raw.sel(latitude=29.6, longitude=float(ds["lon"].values[0]))
    assert ds["t_c"].values[0, 0] == pytest.approx(float(cell["t2m"][0]) - 273.15)
    assert ds["precip_mm"].values[0, 0] == pytest.approx(0.5)
    assert ds["ghi_w_m2"].values[0, 0] == pytest.approx(500.0)
    assert ds["wind_ms"].values[0, 0] == pytest.approx(5.0 * 0.748, abs=0.001)
    assert ds["rh_pct"].values[0, 0] == pytest.approx(
        w.rh_from_dewpoint(ds["t_c"].values[0, 0], ds["dewpoint_c"].values[0, 0]))
    # UTC -> Beijing time
    assert pd.Timestamp(ds["time"].values[0]) == pd.Timestamp("2016-07-01 08:00")
    assert ds.attrs["source"] == "reanalysis: era5.nc" and ds.attrs["utc_offset_h"] == 8.0


def test_netcdf_accumulated_era5_land(tmp_path):
    path, raw = _era5_grid(tmp_path)
    hours = np.arange(48) % 24
    acc = np.where(hours == 0, 24, hours) * 0.001  # 1 mm per hour, accumulated since 00 UTC
    values = np.broadcast_to(acc[:, None, None], raw["tp"].shape).copy()
    raw["tp"] = (("time", "latitude", "longitude"), values, {"units": "m"})
    raw.to_netcdf(tmp_path / "acc.nc")
    ds = read_netcdf(tmp_path / "acc.nc", lat=29.56, lon=106.55, station_id="cq", accumulated=True)
    np.testing.assert_allclose(ds["precip_mm"].values[1:, 0], 1.0)


def test_netcdf_station_dimension_and_daily(tmp_path):
    times = pd.date_range("2016-01-01", periods=5, freq="D")
    ds = xr.Dataset({"tmax": (("time", "station"), np.full((5, 2), 15.0), {"units": "degC"}),
                     "pr": (("time", "station"), np.full((5, 2), 2.0), {"units": "mm"})},
                    coords={"time": times, "station": ["A", "B"], "lat": ("station", [25.7, 29.5]),
                            "lon": ("station", [116.3, 106.5]), "elevation": ("station", [265.0, 244.0])})
    path = tmp_path / "st.nc"
    ds.to_netcdf(path)
    out = read_netcdf(path, variables={"tmax_c": "tmax", "precip_mm": "pr"}, source="station")
    assert out.attrs["resolution"] == "daily" and out["station"].values.tolist() == ["A", "B"]
    assert out["elevation_m"].values.tolist() == [265.0, 244.0] and out["lat"].values.tolist() == [25.7, 29.5]
    assert out["tmax_c"].values[0, 1] == 15.0
    assert pd.Timestamp(out["time"].values[0]) == pd.Timestamp("2016-01-01")


def test_netcdf_time_without_units_is_refused(tmp_path):
    path, _ = _era5_grid(tmp_path, name="nounits.nc", time_units=False)
    with pytest.raises(InputError, match="the time variable has no usable units/calendar"):
        read_netcdf(path, lat=29.56, lon=106.55)


def test_netcdf_missing_variable_and_bad_points(tmp_path):
    path, _ = _era5_grid(tmp_path, drop=["ssrd"])
    message = r"variable 'ssrd' \(for ghi_w_m2\) is not in the file; it has t2m, d2m, tp"
    with pytest.raises(InputError, match=message):
        read_netcdf(path, variables={"t_c": "t2m", "ghi_w_m2": "ssrd"}, lat=29.56, lon=106.55)
    ds = read_netcdf(path, lat=29.56, lon=106.55)  # defaults: take what is there
    assert "ghi_w_m2" not in ds and "t_c" in ds
    with pytest.raises(InputError, match="station point at 25.75N 116.33E is outside the grid"):
        read_netcdf(path, lat=25.75, lon=116.33)
    with pytest.raises(InputError, match="is a 6 x 4 grid; pass points"):
        read_netcdf(path)


def test_netcdf_not_a_netcdf_file(tmp_path):
    path = _write(tmp_path, "not netcdf at all", "bad.nc")
    with pytest.raises(InputError, match="cannot be read as NetCDF"):
        read_netcdf(path, lat=29.5, lon=106.5)


# ----------------------------------------------------------------------------------------------------------
# Open-Meteo
# ----------------------------------------------------------------------------------------------------------

def test_openmeteo_forecast_hourly_and_daily():
    hourly = read_openmeteo(OPENMETEO / "forecast_chongqing.json", "cq")
    raw = json.loads((OPENMETEO / "forecast_chongqing.json").read_text(encoding="utf-8"))
    assert hourly.attrs["resolution"] == "hourly" and hourly.sizes["time"] == 72
    assert hourly.attrs["source"] == "forecast: Open-Meteo forecast_chongqing.json"
    assert hourly.attrs["utc_offset_h"] == 8.0 and hourly.attrs["ignored_variables"] == "weather_code"
    assert pd.Timestamp(hourly["time"].values[0]) == pd.Timestamp("2025-05-12 00:00")
    np.testing.assert_allclose(hourly["t_c"].values[:, 0], raw["hourly"]["temperature_2m"])
    np.testing.assert_allclose(hourly["ghi_w_m2"].values[:, 0], raw["hourly"]["shortwave_radiation"])
    np.testing.assert_allclose(hourly["wind_ms"].values[:, 0],
                               np.array(raw["hourly"]["wind_speed_10m"]) * 0.748, atol=0.001)
    assert float(hourly["elevation_m"][0]) == 244.0 and float(hourly["lat"][0]) == 29.5625
    daily = read_openmeteo(OPENMETEO / "forecast_chongqing.json", "cq", resolution="daily")
    assert daily.attrs["resolution"] == "daily" and daily.sizes["time"] == 3
    assert daily["sunshine_h"].values[0, 0] == pytest.approx(36120.5 / 3600)
    assert daily["rs_mj_m2"].values[0, 0] == pytest.approx(raw["daily"]["shortwave_radiation_sum"][0])
    # the daily block agrees with the hourly one it was written from
    back = w.daily_from_hourly(hourly)
    np.testing.assert_allclose(back["tmax_c"].values, daily["tmax_c"].values)


def test_openmeteo_ensemble_members():
    ds = read_openmeteo(OPENMETEO / "ensemble_chongqing.json", "cq")
    assert ds.attrs["source"].startswith("ensemble:")
    assert ds["t_c"].dims == ("time", "station", "member") and ds["member"].values.tolist() == [0, 1, 2]
    raw = json.loads((OPENMETEO / "ensemble_chongqing.json").read_text(encoding="utf-8"))
    np.testing.assert_allclose(ds["t_c"].sel(member=2).values[:, 0], raw["hourly"]["temperature_2m_member02"])
    assert np.isnan(ds["precip_mm"].values[-1, 0, 2]) and ds["precip_mm_qc"].values[-1, 0, 2] == w.QC_MISSING
    assert ds["precip_mm_qc"].values[-1, 0, 1] == 0
    # members flow through QC and daily aggregation
    out, _ = w.qc(ds)
    daily = w.daily_from_hourly(out)
    assert daily["tmax_c"].dims == ("time", "station", "member") and daily.sizes["member"] == 3


def test_openmeteo_seasonal_members_daily():
    ds = read_openmeteo(OPENMETEO / "seasonal_chongqing.json", "cq")
    assert ds.attrs["source"] == "seasonal: Open-Meteo seasonal_chongqing.json"
    assert ds.attrs["resolution"] == "daily" and ds.sizes["member"] == 2 and ds.sizes["time"] == 5
    assert ds["precip_mm"].values[3, 0].tolist() == [0.4, 14.1]


def test_openmeteo_error_body_and_bad_payloads(tmp_path):
    with pytest.raises(InputError, match="Open-Meteo refused the request: Cannot initialize WeatherVariable"):
        reason = "Cannot initialize WeatherVariable from invalid String value tempeature_2m"
        parse_openmeteo({"error": True, "reason": reason}, "cq")
    with pytest.raises(InputError, match="has no 'hourly' or 'daily' block"):
        parse_openmeteo({"latitude": 1, "longitude": 2, "utc_offset_seconds": 0}, "cq")
    path = _write(tmp_path, '{"latitude": 29.5,\n "hourly": [1, 2,}', "broken.json")
    with pytest.raises(InputError, match=r"broken\.json: is not valid JSON \(line 2"):
        read_openmeteo(path, "cq")
    payload = json.loads((OPENMETEO / "forecast_chongqing.json").read_text(encoding="utf-8"))
    payload["hourly"]["temperature_2m"] = payload["hourly"]["temperature_2m"][:-1]
    with pytest.raises(InputError, match="'temperature_2m' has 71 values for 72 times"):
        parse_openmeteo(payload, "cq")


def test_openmeteo_unixtime_response():
    payload = {"latitude": 29.56, "longitude": 106.55, "elevation": 244, "utc_offset_seconds": 28800,
               "timezone": "Asia/Shanghai", "hourly_units": {"time": "unixtime", "temperature_2m": "°F"},
               "hourly": {"time": [1747008000, 1747011600], "temperature_2m": [68.0, 77.0]}}
    ds = parse_openmeteo(payload, "cq")
    assert pd.Timestamp(ds["time"].values[0]) == pd.Timestamp("2025-05-12 08:00")  # 00:00 UTC in Beijing
    np.testing.assert_allclose(ds["t_c"].values[:, 0], [20.0, 25.0])


class _FakeResponse:
    def __init__(self, body: bytes):
        self._body = body
        self.closed = False

    def read(self):
        return self._body

    def close(self):
        self.closed = True


def test_fetch_openmeteo_builds_url_and_parses():
    calls = []
    body = (OPENMETEO / "forecast_chongqing.json").read_bytes()

    def opener(url, timeout):
        calls.append((url, timeout))
        return _FakeResponse(body)

    payload = fetch_openmeteo("forecast", 29.56, 106.55, opener=opener, timeout_s=12)
    url, timeout = calls[0]
    assert timeout == 12
    assert url.startswith("https://api.open-meteo.com/v1/forecast?latitude=29.5600&longitude=106.5500")
    assert "wind_speed_unit=ms" in url and "forecast_days=16" in url and "timezone=Asia/Shanghai" in url
    assert "shortwave_radiation" in url and "shortwave_radiation_sum" in url
    assert payload["orchard_request"] == {"kind": "forecast", "url": url}
    ds = parse_openmeteo(payload, "cq")
    assert ds.attrs["source"].startswith("forecast:")
    url = openmeteo_url("ensemble", 29.56, 106.55, hourly=["temperature_2m"], days=7, models="ecmwf_ifs025")
    assert url.startswith("https://ensemble-api.open-meteo.com/v1/ensemble?") and "models=ecmwf_ifs025" in url
    assert openmeteo_url("seasonal", 29.56, 106.55, daily=["precipitation_sum"]).startswith(
        "https://seasonal-api.open-meteo.com/v1/seasonal?")


def test_fetch_openmeteo_errors():
    def http_error(url, timeout):
        raise urllib.error.HTTPError(url, 400, "Bad Request", {}, io.BytesIO(
            b'{"error": true, "reason": "Parameter forecast_days must not exceed 16"}'))

    with pytest.raises(InputError, match="failed with HTTP 400: Parameter forecast_days must not exceed 16"):
        fetch_openmeteo("forecast", 29.56, 106.55, days=20, opener=http_error)

    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(InputError, match=r"could not reach Open-Meteo \(Name or service not known\)"):
        fetch_openmeteo("forecast", 29.56, 106.55, opener=offline)

    def timeout(url, timeout):
        raise TimeoutError("timed out")

    with pytest.raises(InputError, match="could not reach Open-Meteo"):
        fetch_openmeteo("ensemble", 29.56, 106.55, opener=timeout)

    def refused(url, timeout):
        return _FakeResponse(b'{"error": true, "reason": "Latitude must be in range of -90 to 90"}')

    with pytest.raises(InputError, match="refused the seasonal request: Latitude must be in range"):
        fetch_openmeteo("seasonal", 29.56, 106.55, opener=refused)

    with pytest.raises(InputError, match="unknown Open-Meteo kind 'nowcast'"):
        fetch_openmeteo("nowcast", 29.56, 106.55, opener=refused)


# ----------------------------------------------------------------------------------------------------------
# Dispatcher
# ----------------------------------------------------------------------------------------------------------

def test_read_weather_dispatches():
    ds = read_weather(CHANGTING, format="changting", rain_path=HETIAN, station_id="changting")
    assert ds["station"].values.tolist() == ["changting"] and "precip_mm" in ds
    ds = read_weather(OPENMETEO / "seasonal_chongqing.json", station_id="cq")
    assert ds.attrs["source"].startswith("seasonal")
    ds = read_weather(WEATHER / "daily_ournames.csv", **DAILY_ARGS)
    assert ds.attrs["resolution"] == "daily"
    with pytest.raises(InputError, match="unknown weather format 'grib'"):
        read_weather(CHANGTING, format="grib")
    with pytest.raises(InputError, match="option 'rain_path' does not apply to weather format 'uci'"):
        read_weather(CHENGDU, format="uci", rain_path=HETIAN)


def test_excel_csv_in_gbk_with_chinese_headers_is_read(tmp_path):
    # Excel in China saves CSV in GBK/GB18030; column names are often Chinese.
    path = tmp_path / "gbk.csv"
    path.write_bytes("日期,最低气温,最高气温\n2016-07-01,20.5,30.1\n2016-07-02,21.0,31.4\n".encode("gb18030"))
    ds = read_station_csv(path, columns={"tmin_c": "最低气温", "tmax_c": "最高气温"}, time_column="日期",
                          station_id="G1")
    assert ds["tmax_c"].values.ravel().tolist() == [30.1, 31.4]
