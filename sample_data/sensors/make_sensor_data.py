"""Make the SYNTHETIC sensor files of the sample district (seeded; see README.md in this folder).

Run from the repository root: ``.venv/bin/python sample_data/sensors/make_sensor_data.py``.

The soil-moisture series are the FAO-56 water balance of each sample plot driven by the real Changting
daily weather (CMA 58911 + Hetian rain gauge, July-August 2017), spread to hours (rain hours wet the soil,
drying is spread over the day) with a per-probe calibration offset and noise; temperatures, humidity, wind
and irradiance follow the same days' observations with a diurnal shape. Planted faults are listed in
``faults.csv`` (what, where, when, and the flag QC must raise).
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitoring.soil.et0 import reference_et_daily  # noqa: E402
from monitoring.soil.water_balance import water_balance  # noqa: E402
from orchard import ingest  # noqa: E402
from orchard.sample import sample_paths  # noqa: E402
from orchard.weather import saturation_vapour_pressure  # noqa: E402

SEED = 20170701
OUT = Path(__file__).resolve().parent
START, END = "2017-07-01", "2017-08-31"
SPIN_UP = "2017-06-01"
TZ = "+08:00"
PROBES = {
    "SP01": "CT01",
    "SP02": "CT03",
    "SP03": "CT04",
    "SP04": "CT06",
    "SP05": "CT09",
    "SP06": "CT11",
    "SP07": "CT14",
    "SP08": "CT17",
    "SP09": "CT19",
    "SP10": "CT22",
    "SP11": "CT25",
    "SP12": "CT28",
}
DEEP = {"SD01": "CT04", "SD02": "CT17", "SD03": "CT19"}
STATIONS = {"WS01": "CT12", "WS02": "CT24"}


def local_hours(start: str, end: str) -> pd.DatetimeIndex:
    return pd.date_range(f"{start} 00:00", f"{end} 23:00", freq="h")


def stamp(times: pd.DatetimeIndex) -> list[str]:
    return [t.strftime("%Y-%m-%dT%H:%M:%S") + TZ for t in times]


def main() -> None:
    rng = np.random.default_rng(SEED)
    paths = sample_paths()
    plots = gpd.read_file(paths["plots"]).set_index("plot_id")
    daily, _ = ingest.read_and_check_weather(paths["meteo"], format="changting", rain_path=paths["rain"])
    w = daily.isel(station=0).sel(time=slice(SPIN_UP, END))
    lat, elev = float(daily["lat"].values[0]), float(daily["elevation_m"].values[0])
    tmin, tmax = w["tmin_c"].values, w["tmax_c"].values
    es = (saturation_vapour_pressure(tmin) + saturation_vapour_pressure(tmax)) / 2
    eto = reference_et_daily(
        tmin,
        tmax,
        w["rs_mj_m2"].values,
        w["wind_ms"].values,
        lat,
        elev,
        pd.DatetimeIndex(w["time"].values).dayofyear.to_numpy(),
        ea_kpa=w["rh_mean_pct"].values / 100 * es,
    )
    rain = np.nan_to_num(w["precip_mm"].values)

    # ---- registry: sensors at a point inside their plot -------------------------------------------------
    rows = []
    for kind, table, depth in (
        ("soil_probe_7in1", PROBES, 0.2),
        ("soil_moisture", DEEP, 0.5),
        ("weather_station", STATIONS, None),
    ):
        for sensor, plot in table.items():
            point = plots.loc[plot, "geometry"].representative_point()
            rows.append(
                {
                    "sensor_id": sensor,
                    "plot_id": plot,
                    "kind": kind,
                    "depth_m": depth,
                    "lon": round(point.x, 6),
                    "lat": round(point.y, 6),
                }
            )
    registry = pd.DataFrame(rows)
    registry.to_csv(OUT / "sensors.csv", index=False)

    # ---- daily water balance of the probes' plots -> hourly soil moisture ------------------------------
    used = sorted(set(PROBES.values()) | set(DEEP.values()))
    pds = xr.Dataset(
        {
            c: ("plot", plots.loc[used, c].astype(float).to_numpy())
            for c in (
                "field_capacity",
                "wilting_point",
                "root_depth_m",
                "canopy_cover",
                "irrigation_capacity_mm_d",
            )
        },
        coords={"plot": used},
    )
    wb = water_balance(eto, rain, pds, times=w["time"].values)
    theta_daily = pds["field_capacity"] - wb["depletion_mm"] / (1000 * pds["root_depth_m"])
    theta_daily = theta_daily.sel(time=slice(START, END))
    hours = local_hours(START, END)
    n_days = theta_daily.sizes["time"]
    day_rain = rain[-n_days:]
    # Rain falls in the afternoon hours 14-19 on rainy days; the soil wets during those hours.
    rain_hours = np.zeros((n_days, 24))
    rain_hours[:, 14:20] = day_rain[:, None] / 6.0

    def hourly_theta(plot: str, lag_h: int = 0) -> np.ndarray:
        d = theta_daily.sel(plot=plot).values
        prev = np.r_[d[0], d[:-1]]
        change = d - prev
        shape = np.where(
            change[:, None] > 0, np.clip((np.arange(24) - 13) / 6.0, 0, 1), np.arange(1, 25) / 24.0
        )
        series = (prev[:, None] + change[:, None] * shape).ravel()
        return np.roll(series, lag_h) if lag_h else series

    tmean_h = np.repeat((tmin + tmax)[-n_days:] / 2, 24)
    amp_h = np.repeat((tmax - tmin)[-n_days:] / 2, 24)
    clock = np.tile(np.arange(24), n_days)
    diurnal = np.cos(2 * np.pi * (clock - 14) / 24)  # air temperature peaks at 14:00
    air_t = tmean_h + amp_h * diurnal

    faults = []
    probe_frames = {}
    for sensor, plot in PROBES.items():
        theta = hourly_theta(plot) + rng.normal(0, 0.01) + rng.normal(0, 0.0015, len(hours))
        soil_t = (
            tmean_h + 0.35 * amp_h * np.cos(2 * np.pi * (clock - 17) / 24) + rng.normal(0, 0.1, len(hours))
        )
        ec_base = rng.uniform(250, 700)
        ec_us = ec_base * (theta / 0.3) ** 1.5 + rng.normal(0, 5, len(hours))
        ph_base = rng.choice([4.8, 5.2, 5.9, 6.3, 7.7]) + rng.normal(0, 0.2)
        ph = ph_base + rng.normal(0, 0.03, len(hours))
        frame = pd.DataFrame(
            {
                "time": hours,
                "device": sensor,
                "moisture": np.round(theta * 100, 1),
                "temperature": np.round(soil_t, 1),
                "ec": np.round(ec_us).astype(int),
                "ph": np.round(ph, 2),
                "n": np.round(0.12 * ec_us + rng.normal(0, 2, len(hours))).astype(int),
                "p": np.round(0.30 * ec_us + rng.normal(0, 3, len(hours))).astype(int),
                "k": np.round(0.28 * ec_us + rng.normal(0, 3, len(hours))).astype(int),
            }
        )
        probe_frames[sensor] = frame

    # Planted faults in the probes.
    f = probe_frames["SP03"]
    for t in ("2017-07-08 05:00", "2017-07-21 11:00", "2017-08-14 03:00"):
        i = f.index[f["time"] == pd.Timestamp(t)][0]
        f.loc[i, "moisture"] = round(f.loc[i, "moisture"] * 1.6, 1)
        faults.append(("SP03", "moisture_m3_m3", t, t, "spike", "D06"))
    f = probe_frames["SP05"]
    frozen = (f["time"] >= pd.Timestamp("2017-07-20 09:00")) & (f["time"] <= pd.Timestamp("2017-07-24 09:00"))
    first = f.index[frozen][0]
    after = f.index[frozen][-1] + 1
    for column in ("moisture", "temperature", "ec", "ph", "n", "p", "k"):
        f.loc[frozen, column] = f.loc[first, column]
        step = 0.01 if column == "ph" else (0.1 if column in ("moisture", "temperature") else 1)
        for k in (first - 1, after):  # neighbours equal by chance would extend the flat run: nudge them
            if f.loc[k, column] == f.loc[first, column]:
                f.loc[k, column] = f.loc[k, column] + step
    faults.append(
        ("SP05", "*", "2017-07-20 09:00", "2017-07-24 09:00", "flat-lined probe (logger froze)", "PERSIST")
    )
    f = probe_frames["SP07"]
    gap = (f["time"] >= pd.Timestamp("2017-08-05 06:00")) & (f["time"] < pd.Timestamp("2017-08-07 06:00"))
    probe_frames["SP07"] = f.loc[~gap].reset_index(drop=True)
    faults.append(
        ("SP07", "*", "2017-08-07 06:00", "2017-08-07 06:00", "two-day gap (first reading after it)", "GAP")
    )
    f = probe_frames["SP09"]
    block = f[
        (f["time"] >= pd.Timestamp("2017-08-10 00:00")) & (f["time"] <= pd.Timestamp("2017-08-10 11:00"))
    ]
    probe_frames["SP09"] = pd.concat([f, block], ignore_index=True)  # re-sent by the gateway at the end
    faults.append(
        ("SP09", "*", "2017-08-10 00:00", "2017-08-10 11:00", "duplicated block (gateway re-sent)", "DUP")
    )

    # Gateway A: Chinese headers, local clock without zone (ingest with --tz Asia/Shanghai).
    a = pd.concat([probe_frames[s] for s in list(PROBES)[:6]], ignore_index=True)
    a = a.assign(time=a["time"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    a.columns = [
        "时间",
        "设备编号",
        "水分(%)",
        "温度(℃)",
        "电导率(us/cm)",
        "PH",
        "氮(mg/kg)",
        "磷(mg/kg)",
        "钾(mg/kg)",
    ]
    a.to_csv(OUT / "probes_gateway_a_7in1.csv", index=False)
    # Gateway B: English headers with units and offsets in the time stamps.
    b = pd.concat([probe_frames[s] for s in list(PROBES)[6:]], ignore_index=True)
    b = b.assign(time=stamp(pd.DatetimeIndex(b["time"])))
    b.columns = [
        "time",
        "device",
        "moisture (%)",
        "temperature (degC)",
        "ec (us/cm)",
        "ph",
        "n (mg/kg)",
        "p (mg/kg)",
        "k (mg/kg)",
    ]
    b.to_csv(OUT / "probes_gateway_b_7in1.csv", index=False)

    # ---- deep moisture sensors, long format, vol-% ------------------------------------------------------
    parts = []
    for sensor, plot in DEEP.items():
        theta = hourly_theta(plot, lag_h=6) + rng.normal(0, 0.008) + rng.normal(0, 0.001, len(hours))
        parts.append(
            pd.DataFrame(
                {
                    "time": stamp(hours),
                    "sensor": sensor,
                    "variable": "moisture",
                    "value": np.round(theta * 100, 2),
                    "unit": "%",
                }
            )
        )
    pd.concat(parts, ignore_index=True).to_csv(OUT / "deep_moisture_long.csv", index=False)

    # ---- weather stations --------------------------------------------------------------------------------
    lon = float(registry.set_index("sensor_id").loc["WS01", "lon"])
    doy = hours.dayofyear.to_numpy()
    solar_h = clock + (lon - 120.0) / 15.0
    decl = 0.409 * np.sin(2 * np.pi * doy / 365 - 1.39)
    phi = np.deg2rad(lat)
    sin_elev = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(np.pi / 12 * (solar_h - 12))
    rs_day = np.repeat(w["rs_mj_m2"].values[-n_days:], 24)
    shape = np.clip(sin_elev, 0, None)
    shape_sum = np.repeat(shape.reshape(n_days, 24).sum(1), 24)
    ghi = rs_day * 1e6 / 3600 * shape / shape_sum
    rh_mean = np.repeat(w["rh_mean_pct"].values[-n_days:], 24)
    wind = np.repeat(w["wind_ms"].values[-n_days:], 24)
    precip_h = rain_hours.ravel()

    def station(noise_scale: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "t_c": np.round(air_t + rng.normal(0, 0.2 * noise_scale, len(hours)), 2),
                "rh_pct": np.round(
                    np.clip(rh_mean - 15 * diurnal + rng.normal(0, 1.0, len(hours)), 20, 100), 1
                ),
                "precip_mm": np.round(precip_h, 1),
                "wind_ms": np.round(
                    np.maximum(wind, 0.5) * np.exp(rng.normal(0, 0.3, len(hours))) * (1 + 0.3 * diurnal), 2
                ),
                "ghi_w_m2": np.round(ghi * np.exp(rng.normal(0, 0.05, len(hours))), 1),
            }
        )

    ws01 = station(1.0)
    for t in ("2017-07-12 03:00", "2017-08-02 22:00"):
        i = int(np.flatnonzero(hours == pd.Timestamp(t))[0])
        ws01.loc[i, "t_c"] = ws01.loc[i, "t_c"] + 14.0
        faults.append(("WS01", "t_c", t, t, "spike", "SPIKE"))
    ws01.insert(0, "time", stamp(hours))
    ws01.columns = ["time", "air_temp (degC)", "rh (%)", "rain (mm)", "ws (m/s)", "solar (W/m2)"]
    ws01.to_csv(OUT / "station_ws01_hourly.csv", index=False)

    # WS02: a Campbell TOA5 file whose logger clock ran on UTC; the operator declares Beijing time at
    # ingest (the usual mistake), so every reading is 8 h early: QC must flag TZ.
    span = (hours >= pd.Timestamp("2017-07-15")) & (hours < pd.Timestamp("2017-07-29"))
    ws02 = station(1.0).loc[span].reset_index(drop=True)
    utc_clock = hours[span] - pd.Timedelta(hours=8)
    lines = [
        '"TOA5","WS02","CR1000X","4521","CR1000X.Std.05.02","CPU:orchard.CR1X","33412","Hourly"',
        '"TIMESTAMP","RECORD","AirTC_Avg","RH","Rain_mm_Tot","WS_ms_Avg","SlrW_Avg","BattV_Min"',
        '"TS","RN","Deg C","%","mm","meters/second","W/m^2","Volts"',
        '"","","Avg","Smp","Tot","Avg","Avg","Min"',
    ]
    for k, (t, row) in enumerate(zip(utc_clock, ws02.itertuples(index=False), strict=False)):
        lines.append(
            f'"{t:%Y-%m-%d %H:%M:%S}",{k},{row.t_c},{row.rh_pct},{row.precip_mm},{row.wind_ms},'
            f"{row.ghi_w_m2},12.6"
        )
    (OUT / "station_ws02_toa5.dat").write_text("\n".join(lines) + "\n", encoding="utf-8")
    faults.append(
        ("WS02", "*", "2017-07-14 16:00", "2017-07-28 15:00", "logger clock in UTC, declared UTC+8", "TZ")
    )

    pd.DataFrame(
        faults, columns=["sensor_id", "variable", "start_local", "end_local", "fault", "flag"]
    ).to_csv(OUT / "faults.csv", index=False)
    print(f"wrote sensor sample files to {OUT}")


if __name__ == "__main__":
    main()
