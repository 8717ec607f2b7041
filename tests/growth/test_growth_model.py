"""Growth model: thermal time, induction, phenology, fruit, carbon, orchestrator, outlook, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from growth import calibrate, carbon, cultivars, fruit, model, outlook, phenology, thermal
from orchard.errors import InputError, ParameterError
from orchard.plots import read_plots
from orchard.sources import read_weather
from orchard.terrain import plot_terrain
from orchard.weather import hourly_from_daily, hourly_temperature, weather_for_plots

# ------------------------------------------------------------------------------------------------------------
# Thermal time and induction
# ------------------------------------------------------------------------------------------------------------
THERMAL_CASES = [  # tmin, tmax, expected for methods 1, 2, 3 (Tb 13, Tu 35), computed by hand
    (10.0, 30.0, (7.0, 8.5, 7.0)),
    (5.0, 18.0, (0.0, 2.5, 0.0)),
    (30.0, 40.0, (22.0, 19.5, 19.5)),
    (36.0, 40.0, (22.0, 22.0, 22.0)),
    (2.0, 10.0, (0.0, 0.0, 0.0)),
]


@pytest.mark.parametrize("tmin, tmax, expected", THERMAL_CASES)
def test_thermal_time_variants_match_hand_computation(tmin, tmax, expected):
    for method, value in zip((1, 2, 3), expected, strict=True):
        assert thermal.thermal_time(tmin, tmax, 13.0, 35.0, method) == pytest.approx(value, abs=1e-12)


def test_thermal_time_unknown_method_is_a_clear_error():
    with pytest.raises(ParameterError, match="thermal-time method 4 is not one of 1, 2, 3"):
        thermal.thermal_time(10, 20, method=4)


def test_induction_hours_count_a_constructed_hourly_series():
    hours = np.array([[25, 21, 20, 19.9, 15, 10] + [22] * 18, [19] * 24], dtype=float).reshape(2, 24, 1)
    assert thermal.hours_below(hours, 20.0, axis=1)[:, 0].tolist() == [3.0, 24.0]
    cumulative = phenology.induction_hours(np.array([[3.0], [24.0], [5.0]]), np.array([1]))
    assert cumulative[:, 0].tolist() == [0.0, 24.0, 29.0]


def test_daily_induction_hours_equal_the_foundations_hourly_reconstruction():
    times = pd.date_range("2015-11-01", periods=20, freq="D")
    rng = np.random.default_rng(3)
    tmin = rng.uniform(5, 15, size=(20, 1))
    tmax = tmin + rng.uniform(5, 12, size=(20, 1))
    daily = xr.Dataset({"tmin_c": (("time", "station"), tmin), "tmax_c": (("time", "station"), tmax)},
                       coords={"time": times, "station": ["s"], "lat": ("station", [25.8]),
                               "lon": ("station", [116.3])}, attrs={"resolution": "daily", "utc_offset_h": 8})
    hourly = hourly_from_daily(daily)["t_c"].to_numpy().reshape(20, 24)
    ours = thermal.hours_below(hourly_temperature(tmin, tmax, [25.8], [116.3], times.day_of_year), 20.0,
                               axis=1)
    assert ours[:, 0].tolist() == (hourly < 20.0).sum(axis=1).astype(float).tolist()


def test_model_induction_counts_equal_full_hourly_reconstruction():
    """The model skips days wholly above or below 20 degC; the counts must equal the full reconstruction."""
    times = pd.date_range("2015-10-01", periods=60, freq="D")
    rng = np.random.default_rng(5)
    tmin = rng.uniform(5, 24, size=(60, 3))
    tmax = tmin + rng.uniform(2, 12, size=(60, 3))
    lat, lon = np.array([25.8, 30.9, 31.0]), np.array([116.3, 109.5, 109.6])
    doy = times.day_of_year.to_numpy()
    full = thermal.hours_below(hourly_temperature(tmin, tmax, lat, lon, doy), 20.0, axis=1)
    fast = model._hours_below_daily(tmin, tmax, np.arange(60), lat, lon, doy, np.full(3, 20.0), 8.0)
    np.testing.assert_array_equal(fast, full)
    assert 0 < np.mean((fast > 0) & (fast < 24)) < 1  # both kinds of days occur


def test_warm_spell_triggers_bud_growth_only_after_sufficient_induction():
    n = 30
    tmax = np.full((n, 1), 18.0)
    tmax[3:10] = 28.0  # a warm week before induction is sufficient: no trigger
    tmax[15:22] = 28.0  # seven warm days after 900 h: trigger on the 7th
    induction = np.minimum(np.arange(n) * 70.0, 2000.0)[:, None]  # 900 h reached on day 13
    assert phenology.warm_spell_trigger(tmax, induction, 900.0, 27.0, 7)[0] == 21
    tmax[21] = 20.0  # the spell broken after six days
    assert phenology.warm_spell_trigger(tmax, induction, 900.0, 27.0, 7)[0] == -1


# ------------------------------------------------------------------------------------------------------------
# Fruit, quality, carbon
# ------------------------------------------------------------------------------------------------------------
def test_logistic_diameter_and_its_rate():
    tau = np.linspace(0, 3000, 301)
    d = fruit.diameter_logistic(tau, 5.0, 80.0, 0.003, 1100.0)
    assert np.all(np.diff(d) > 0)
    assert fruit.diameter_logistic(1100.0, 5.0, 80.0, 0.003, 1100.0) == pytest.approx(42.5)
    # expansion rate is the day-to-day increase; per degree-day it matches the logistic's derivative
    rate = fruit.expansion_rate(d)
    analytic = 0.003 * (d - 5.0) * (1 - (d - 5.0) / 75.0) * 10.0  # 10 degC d per step
    np.testing.assert_allclose(rate[1:], (analytic[1:] + analytic[:-1]) / 2, rtol=2e-3)


def test_tss_is_quadratic_up_to_its_vertex_and_acid_decays():
    assert fruit.tss_brix(1000.0, 3.0, 0.004, -4.5e-7) == pytest.approx(3.0 + 4.0 - 0.45)
    vertex = 0.004 / (2 * 4.5e-7)
    assert fruit.tss_brix(vertex + 500, 3.0, 0.004, -4.5e-7) == pytest.approx(
        fruit.tss_brix(vertex, 3.0, 0.004, -4.5e-7))
    assert fruit.acid_pct(0.0, 3.0, 0.5, 0.001) == pytest.approx(3.0)
    assert fruit.acid_pct(1000.0, 3.0, 0.5, 0.001) == pytest.approx(0.5 + 2.5 * np.exp(-1.0))


def test_canopy_assimilation_is_the_integral_of_leaf_hyperbolas():
    amax, eps, k, lai, par = 11.0, 0.45, 0.6, 3.5, 200.0
    layers = np.linspace(0, lai, 20001)
    absorbed = k * par * np.exp(-k * layers)
    leaf = amax * eps * absorbed / (amax + eps * absorbed)
    numeric = np.trapezoid(leaf, layers)
    assert carbon.canopy_gross_assimilation(par, amax, eps, k, lai) == pytest.approx(numeric, rel=1e-6)
    assert carbon.light_interception(1.0, 3.5, 0.6) == pytest.approx(1 - np.exp(-2.1))
    assert carbon.maintenance_respiration(35.0, 90.0, 0.5, 2.0) == pytest.approx(90.0)
    assert carbon.temperature_response([5, 15, 25, 37, 45]).tolist() == pytest.approx(
        [0.0, 8 / 13, 1.0, 0.5, 0.0])


# ------------------------------------------------------------------------------------------------------------
# The model on the sample weather
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def changting_daily(sample_dir):
    return read_weather(sample_dir / "weather" / "changting_58911_meteo_daily.csv", format="changting",
                        rain_path=sample_dir / "weather" / "changting_hetian_81502750_pcp_daily.csv")


def _plot_dataset(ids, lat=25.76, lon=116.35, elevation=400.0, cultivar="powell_navel", **terrain):
    n = len(ids)
    data = {"lat": ("plot", np.full(n, lat)), "lon": ("plot", np.full(n, lon)),
            "elevation_m": ("plot", np.full(n, elevation)), "cultivar": ("plot", np.array([cultivar] * n)),
            "canopy_cover": ("plot", np.full(n, 0.7)), "station_id": ("plot", np.array(["58911"] * n))}
    for name, values in terrain.items():
        data[name] = ("plot", np.asarray(values, dtype=float))
    return xr.Dataset(data, coords={"plot": ids})


@pytest.fixture(scope="module")
def flat_run(changting_daily):
    plots = _plot_dataset(["A", "B"])
    weather = weather_for_plots(changting_daily.sel(time=slice("2014-10-01", "2016-06-30")), plots)
    return model.run(plots, weather, slope_correction=False)


def test_season_stages_come_in_order_with_plausible_dates(flat_run):
    one = flat_run.sel(plot="A")
    dates = [pd.Timestamp(one[name].values) for name in ("bud_break_date", "bloom_date", "petal_fall_date",
                                                        "fruit_set_date", "stage3_date", "maturity_date")]
    assert dates == sorted(dates)
    assert pd.Timestamp("2015-03-01") <= dates[1] <= pd.Timestamp("2015-04-30")  # bloom, warm Changting
    assert pd.Timestamp("2015-12-01") <= dates[-1] <= pd.Timestamp("2016-05-31")  # a late navel
    stages = one["stage"].to_numpy()
    assert np.all(np.diff(stages) >= 0) and stages.max() == 6
    assert float(one["induction_h"].sel(time="2015-03-01")) > 850  # Chinese winters never limit induction


def test_fruit_grows_monotonically_and_quality_ripens_in_stage_three(flat_run):
    one = flat_run.sel(plot="A")
    d = one["fruit_diameter_mm"].dropna("time")
    assert np.all(np.diff(d.to_numpy()) >= 0)
    np.testing.assert_allclose(one["fruit_expansion_mm_d"].sel(time=d["time"][1:]).to_numpy(),
                               np.diff(d.to_numpy()), atol=1e-12)
    stage3 = one.where(one["stage"] >= 5, drop=True)
    # TSS near its plateau in stage III (the autumn weather moves it a little); TA keeps falling all winter
    brix = stage3["brix"].to_numpy()
    assert np.ptp(brix) < 1.5 and brix[-1] > brix[0] - 0.3
    monthly_acid = stage3["acid_pct"].resample(time="MS").mean().to_numpy()
    assert np.all(np.diff(monthly_acid) < 0) and monthly_acid[-1] < 0.8 * monthly_acid[0]
    assert flat_run.attrs["ks_source"].startswith("default 1")


def test_water_stress_slows_fruit_growth_and_assimilation(changting_daily):
    plots = _plot_dataset(["A"])
    weather = weather_for_plots(changting_daily.sel(time=slice("2014-10-01", "2015-12-31")), plots)
    ks = xr.DataArray(np.where(weather["time"].dt.month.isin([6, 7]), 0.4, 1.0)[:, None],
                      dims=("time", "plot"), coords={"time": weather["time"], "plot": ["A"]})
    wet = model.run(plots, weather, slope_correction=False)
    dry = model.run(plots, weather, ks=ks, slope_correction=False)
    end = "2015-11-30"
    assert float(dry["fruit_diameter_mm"].sel(plot="A", time=end)) < float(
        wet["fruit_diameter_mm"].sel(plot="A", time=end)) - 1.0
    july = slice("2015-07-01", "2015-07-31")
    assert float(dry["assimilation_kg_co2_ha_d"].sel(time=july).mean()) < 0.7 * float(
        wet["assimilation_kg_co2_ha_d"].sel(time=july).mean())
    assert dry.attrs["ks_source"] == "given"
    with pytest.raises(InputError, match="ks must lie between 0 and 1"):
        model.run(plots, weather, ks=ks * 2, slope_correction=False)


# ------------------------------------------------------------------------------------------------------------
# Slope: a ridge with a north- and a south-facing 25° slope at the same elevation, and a flat plateau
# ------------------------------------------------------------------------------------------------------------
RIDGE_CRS = "EPSG:32650"  # UTM 50N, around Changting
X0, Y0, CELL = 390000.0, 2855000.0, 30.0


def _ridge_dem(path):
    n_rows, n_cols = 160, 240  # 4.8 km north-south, 7.2 km east-west
    x = (np.arange(n_cols) + 0.5) * CELL
    y = Y0 - (np.arange(n_rows) + 0.5) * CELL  # row 0 is the north edge
    xx, yy = np.meshgrid(x, y)
    crest_y = Y0 - 2400.0
    ridge = np.maximum(700.0 - np.tan(np.radians(25.0)) * np.abs(yy - crest_y), 300.0)
    z = np.where(xx < 3600.0, ridge, 400.0)  # the eastern half is a plateau at 400 m
    with rasterio.open(path, "w", driver="GTiff", width=n_cols, height=n_rows, count=1, dtype="float32",
                       crs=RIDGE_CRS, transform=from_origin(X0, Y0, CELL, CELL)) as dst:
        dst.write(z.astype("float32"), 1)
    return crest_y


@pytest.fixture(scope="module")
def ridge_run(tmp_path_factory, changting_daily):
    import geopandas as gpd
    from shapely.geometry import box

    tmp = tmp_path_factory.mktemp("ridge")
    crest_y = _ridge_dem(tmp / "ridge.tif")
    offset = (700.0 - 400.0) / np.tan(np.radians(25.0))  # where each face is at 400 m
    centres = {"north": (X0 + 1800.0, crest_y + offset), "south": (X0 + 1800.0, crest_y - offset),
               "flat": (X0 + 6000.0, crest_y)}
    frame = gpd.GeoDataFrame(
        {"plot_id": list(centres), "cultivar": ["powell_navel"] * 3, "canopy_cover": [0.7] * 3,
         "station_id": ["58911"] * 3},
        geometry=[box(cx - 45, cy - 45, cx + 45, cy + 45) for cx, cy in centres.values()], crs=RIDGE_CRS)
    frame.to_file(tmp / "plots.gpkg", layer="plots")
    plots = read_plots(tmp / "plots.gpkg")
    plots = plots.with_terrain(plot_terrain(plots.frame.reset_index(), tmp / "ridge.tif"))
    ds = plots.to_dataset()
    weather = weather_for_plots(changting_daily.sel(time=slice("2014-10-01", "2016-06-30")), ds)
    return ds, model.run(plots, weather)


def test_ridge_terrain_is_as_built(ridge_run):
    plots, _ = ridge_run
    assert plots["slope_deg"].sel(plot=["north", "south"]).to_numpy() == pytest.approx([25.0, 25.0], abs=1.0)
    assert plots["slope_deg"].sel(plot="flat") < 1.0
    assert plots["aspect_deg"].sel(plot="south") == pytest.approx(180.0, abs=2.0)
    assert min(float(plots["aspect_deg"].sel(plot="north")) % 360, 360 - float(
        plots["aspect_deg"].sel(plot="north")) % 360) < 2.0
    assert np.ptp(plots["elevation_m"].to_numpy()) < 15.0


def test_north_slope_gets_less_winter_sun_less_heat_and_ripens_later(ridge_run):
    _, ds = ridge_run
    winter = ds["rs_slope_mj_m2"].sel(time=slice("2014-12-01", "2015-01-31")).mean("time")
    assert winter.sel(plot="north") < winter.sel(plot="flat") < winter.sel(plot="south")
    # Accumulated temperature over the maturation months (at 25.8 N a south slope gets less sun than the
    # flat in mid-summer, when the sun stands north of the zenith's tilt: the contrast belongs to winter).
    season = slice("2015-10-01", "2016-02-29")
    gdd = ds["gdd_c_d"].sel(time=season).sum("time")
    assert gdd.sel(plot="north") < gdd.sel(plot="flat") < gdd.sel(plot="south")
    maturity = ds["maturity_date"]
    assert maturity.sel(plot="north") > maturity.sel(plot="flat") >= maturity.sel(plot="south")
    # 25 degree north- against south-facing slopes at the same elevation: 5-25 days apart (issue 17)
    assert 5 <= (pd.Timestamp(maturity.sel(plot="north").values)
                 - pd.Timestamp(maturity.sel(plot="south").values)).days <= 25
    delay = ds["maturity_delay_days"]
    assert float(delay.sel(plot="north")) > 3.0
    assert float(delay.sel(plot="south")) <= 0.0
    assert abs(float(delay.sel(plot="flat"))) <= 1.0


# ------------------------------------------------------------------------------------------------------------
# Outlook, calibration, bad input
# ------------------------------------------------------------------------------------------------------------
def test_outlook_quantiles_are_ordered_and_spread(changting_daily):
    plots = _plot_dataset(["A", "B"])
    weather = weather_for_plots(changting_daily, plots)
    result = outlook.outlook(plots, weather, "2016-07-15", slope_correction=False)
    assert result.attrs["n_members"] >= 5 and "2015 weather record" in result.attrs["member_sources"]
    for name in ("fruit_expansion_mm_d", "brix"):
        q = result[name].sel(plot="A")
        assert np.all(q.sel(quantile=0.1) <= q.sel(quantile=0.5) + 1e-12)
        assert np.all(q.sel(quantile=0.5) <= q.sel(quantile=0.9) + 1e-12)
    spread = result["fruit_expansion_mm_d"].sel(plot="A", quantile=0.9) - result["fruit_expansion_mm_d"].sel(
        plot="A", quantile=0.1)
    assert float(spread.mean()) > 0.01
    assert float(result["fruit_expansion_mm_d"].sel(plot="A", quantile=0.5).mean()) > 0.1  # July: expanding


def test_calibration_recovers_parameters_from_noisy_synthetic_observations(changting_daily, tmp_path):
    plots = _plot_dataset(["A", "B", "C"], cultivar="valencia")
    plots["elevation_m"] = ("plot", [300.0, 450.0, 600.0])
    weather = weather_for_plots(changting_daily.sel(time=slice("2014-10-01", "2016-05-31")), plots)
    start = cultivars.cultivar_parameters("valencia")
    truth = start.with_overrides({"bloom.required_gdd": 1010.0, "fruit.final_diameter": 72.0,
                                  "fruit.midpoint_gdd": 1300.0, "fruit.growth_rate": 0.0017})
    produced = model.run(plots, weather, truth, slope_correction=False)
    rng = np.random.default_rng(7)
    rows = []
    for pid in ("A", "B", "C"):
        one = produced.sel(plot=pid)
        rows.append({"plot_id": pid, "date": str(pd.Timestamp(one["bloom_date"].values).date()),
                     "variable": "bloom_date", "value": ""})
        for day in ("2015-05-20", "2015-06-20", "2015-07-20", "2015-08-20", "2015-09-20", "2015-10-20"):
            rows.append({"plot_id": pid, "date": day, "variable": "fruit_diameter_mm",
                         "value": float(one["fruit_diameter_mm"].sel(time=day)) + rng.normal(0, 1.0)})
    pd.DataFrame(rows).to_csv(tmp_path / "obs.csv", index=False)
    observations = calibrate.read_observations(tmp_path / "obs.csv")
    result = calibrate.calibrate(plots, weather, observations, start, slope_correction=False)
    assert result.values_after["bloom.required_gdd"] == pytest.approx(1010.0, rel=0.03)
    assert result.values_after["fruit.final_diameter"] == pytest.approx(72.0, abs=2.0)
    assert result.values_after["fruit.midpoint_gdd"] == pytest.approx(1300.0, rel=0.08)
    assert result.at_bounds == {} and result.warnings == []
    assert result.rmse_after["fruit_diameter_mm"] < 1.6 < result.rmse_before["fruit_diameter_mm"]
    assert result.rmse_after["bloom_date"] < 1.0 < result.rmse_before["bloom_date"]


def test_bad_input_gets_one_clear_sentence(changting_daily, tmp_path):
    plots = _plot_dataset(["A"])
    weather = weather_for_plots(changting_daily.sel(time=slice("2014-10-01", "2015-12-31")), plots)
    gappy = weather.copy(deep=True)
    gappy["tmax_c"][100:110] = np.nan
    with pytest.raises(InputError, match=r"plot A has tmax_c missing for 10 day\(s\) from 2015-01-09"):
        model.run(plots, gappy, slope_correction=False)
    with pytest.raises(InputError, match="unknown cultivar 'blood_lime'; known cultivars are fengjie_72_1"):
        model.run(_plot_dataset(["A"], cultivar="blood_lime"), weather, slope_correction=False)
    with pytest.raises(InputError, match="the plots have no terrain; run `orchard terrain` first"):
        model.run(plots, weather)
    with pytest.raises(ParameterError, match="bloom.required_gdd"):
        cultivars.cultivar_parameters("valencia").with_overrides({"bloom.required_gdd": 5000.0})
    (tmp_path / "obs.csv").write_text("plot_id,date,variable,value\nA,2015-13-01,brix,10\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2 has date '2015-13-01' \(write dates as YYYY-MM-DD\)"):
        calibrate.read_observations(tmp_path / "obs.csv")


def test_outlook_uses_the_forecast_for_its_first_days(changting_daily):
    plots = _plot_dataset(["A"])
    weather = weather_for_plots(changting_daily, plots)
    days = pd.date_range("2016-07-16", periods=10, freq="D")
    cold = xr.Dataset({"tmin_c": (("time", "plot"), np.full((10, 1), 5.0)),
                       "tmax_c": (("time", "plot"), np.full((10, 1), 11.0)),
                       "rs_mj_m2": (("time", "plot"), np.full((10, 1), 8.0))},
                      coords={"time": days, "plot": ["A"]})
    result = outlook.outlook(plots, weather, "2016-07-15", forecast=cold, slope_correction=False)
    rate = result["fruit_expansion_mm_d"].sel(plot="A")
    assert float(rate.sel(quantile=0.9).isel(lead_day=slice(0, 10)).max()) == pytest.approx(0.0, abs=1e-9)
    assert float(rate.sel(quantile=0.5).isel(lead_day=slice(10, None)).mean()) > 0.1  # past years after it
    assert result.attrs["member_sources"].startswith("forecast 2016-07-16 to 2016-07-25, then 2015")


def test_expected_dates_from_past_years(changting_daily):
    plots = _plot_dataset(["A"])
    weather = weather_for_plots(changting_daily, plots)
    dates = outlook.expected_dates(plots, weather, "2015-09-01", slope_correction=False)
    maturity = dates["maturity_date"].sel(plot="A")
    assert int(dates["members_reaching_maturity"].sel(plot="A")) >= 4
    assert maturity.sel(quantile=0.1) <= maturity.sel(quantile=0.5) <= maturity.sel(quantile=0.9)
    # the season's own run on the real 2015/16 weather lies inside the members' spread
    actual = model.run(plots, weather.sel(time=slice("2014-10-01", "2016-06-30")), slope_correction=False)
    spread = pd.Timedelta(days=20)
    assert (pd.Timestamp(maturity.sel(quantile=0.1).values) - spread
            <= pd.Timestamp(actual["maturity_date"].sel(plot="A").values)
            <= pd.Timestamp(maturity.sel(quantile=0.9).values) + spread)


@pytest.mark.parametrize("shape", [(6, 200), (6, 20, 30), (1, 8), (3, 5)])
def test_member_quantiles_equal_numpy_nanquantile(shape):
    import warnings

    from growth.outlook import member_quantiles

    rng = np.random.default_rng(sum(shape))
    values = rng.normal(size=shape)
    values[rng.random(shape) < 0.3] = np.nan
    values[:, 0] = np.nan  # an all-NaN column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(values, [0.1, 0.5, 0.9], axis=0)
    np.testing.assert_allclose(member_quantiles(values, [0.1, 0.5, 0.9]), expected, rtol=1e-12, equal_nan=True)


def test_a_districts_own_cultivar_set_is_used_for_that_districts_plots(tmp_path):
    from growth import cultivars
    from orchard import params, store

    engine = store.init_db(f"sqlite:///{tmp_path / 'd.db'}")
    with store.session_scope(engine) as session:
        store.upsert_users(session, [{"user_id": "zhao", "display_name": "Zhao", "role": "agronomist"}])
        base = cultivars.cultivar_parameters("valencia")
        key = "fruit.final_diameter"
        local = params.ParameterSet("growth.valencia@奉节", base.with_overrides({key: base[key] * 0.9}).entries)
        params.save_version(session, local, author="zhao", comment="Fengjie orchards")
        codes, districts = ["valencia", "valencia", "valencia"], ["奉节", "长汀", None]
        keys = cultivars.set_keys_for_plots(codes, districts, session=session)
        assert keys == ["valencia@奉节", "valencia", "valencia"]
        sets = cultivars.parameters_for_plots(keys, ["A", "B", "C"], session=session)
        arrays = cultivars.parameter_arrays(keys, sets)
        assert arrays[key][0] == pytest.approx(base[key] * 0.9) and arrays[key][1] == base[key]
        assert cultivars.set_keys_for_plots(codes, districts) == codes  # no database: the shipped sets
    engine.dispose()


def test_an_observation_file_reports_every_implausible_row_at_once(tmp_path):
    """The plausibility checks of issue #18 (ranges in orchard/parameters/limits.toml) are faults of the
    file like the others of issue #19: all of them in one error, nothing read."""
    (tmp_path / "obs.csv").write_text(
        "plot_id,date,variable,value\n"
        "CT01,2016-09-01,fruit_diameter_mm,-40\n"
        ",2016-09-01,brix,11\n"
        "CT01,2099-01-01,brix,11\n"
        "CT01,2016-10-01,brix,-3\n", encoding="utf-8")
    with pytest.raises(calibrate.ObservationFileError) as caught:
        calibrate.read_observations(tmp_path / "obs.csv")
    kinds = [(f.kind, f.rows) for f in caught.value.faults]
    assert kinds == [("implausible", (2,)), ("no_plot", (3,)), ("bad_date", (4,)), ("implausible", (5,))]
    assert "fruit_diameter_mm -40 mm is not plausible" in str(caught.value)
    (tmp_path / "empty.csv").write_text("plot_id,date,variable,value\n", encoding="utf-8")
    with pytest.raises(calibrate.ObservationFileError, match="holds no observations"):
        calibrate.read_observations(tmp_path / "empty.csv")
