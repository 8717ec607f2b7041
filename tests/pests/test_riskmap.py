"""The risk grid (pests/riskmap.py): ISO weeks, weather classes, block keys, lookups, the grid on the sample
DEM, the local threaded scheduler against a 2-worker dask.distributed LocalCluster, and bad input."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from orchard.errors import InputError
from orchard.terrain import slope_aspect
from pests.riskmap import (
    ClassScheme,
    binning_error,
    class_scheme,
    dem_grid,
    iso_week,
    key_array,
    lookup,
    read_window,
    risk_grid,
    risk_grid_run,
    riskmap_parameters,
    stations_from_grid,
)

DEM = "sample_data/dem/changting_youwuzhen_dem30m.tif"
ISSUE = "2016-07-25"  # Monday of 2016-W30


@pytest.fixture(scope="module")
def engine(sample_home):
    from orchard.cli_common import engine_for

    return engine_for(f"sqlite:///{(sample_home / 'orchard.db').resolve()}")


@pytest.fixture(scope="module")
def station_weather(engine):
    """The sample district's daily station weather (Changting, CMA 58911) as stored."""
    from orchard import store
    from orchard import weather as ow

    with store.session_scope(engine) as session:
        stations = pd.DataFrame(store.list_stations(session))
        readings = store.read_weather(session, ["58911"], "daily", None, None)
    return ow.weather_from_long(readings, stations[stations.station_id == "58911"].assign(resolution="daily"))


@pytest.fixture(scope="module")
def grid_run(station_weather):
    return risk_grid_run(DEM, station_weather, ISSUE, chunks=(40, 50))


# ----------------------------------------------------------------------------------------------------------
# ISO weeks and the class scheme
# ----------------------------------------------------------------------------------------------------------
def test_iso_week_is_its_monday():
    assert iso_week("2016-W30") == ("2016-W30", pd.Timestamp("2016-07-25"))
    assert iso_week("2016W01") == ("2016-W01", pd.Timestamp("2016-01-04"))  # 1 Jan 2016 was a Friday
    assert iso_week("2015-W53")[1] == pd.Timestamp("2015-12-28")  # 2015 has 53 ISO weeks
    with pytest.raises(InputError, match="2016 has 52 ISO weeks"):
        iso_week("2016-W53")
    with pytest.raises(InputError, match="is not an ISO week; write it as YYYY-Www"):
        iso_week("2016-30")


def test_class_keys_round_trip():
    scheme = ClassScheme(10.0, 5.0, 8, ("a", "b"), (0.0, 1.0), (0.0, 0.0))
    z = np.array([401.0, 404.9, 405.1, np.nan, 550.0, 550.0])
    slope = np.array([0.0, 7.4, 12.6, 3.0, 30.0, 30.0])
    aspect = np.array([np.nan, 350.0, 100.0, 0.0, 180.0, 180.0])
    station = np.array([0, 1, 0, 0, 0, 1])
    keys = scheme.encode(z, slope, aspect, station)
    assert keys[3] == -1  # nodata
    assert keys[4] != keys[5]  # same terrain, other station
    back = scheme.decode(keys[[0, 1, 2, 4, 5]])
    np.testing.assert_allclose(back["elevation_m"], [400.0, 400.0, 410.0, 550.0, 550.0])
    np.testing.assert_allclose(back["slope_deg"], [0.0, 5.0, 15.0, 30.0, 30.0])
    # 350 deg rounds to the north sector (0), 100 to east (90); a flat class has no aspect
    np.testing.assert_allclose(back["aspect_deg"], [180.0, 0.0, 90.0, 180.0, 180.0])
    np.testing.assert_array_equal(back["station"], [0, 1, 0, 0, 1])
    # without slope classes the key is the elevation bin only
    plain = ClassScheme(10.0)
    assert plain.encode([404.9])[0] == plain.encode([395.1])[0] != plain.encode([405.1])[0]


def test_block_keys_with_halo_equal_the_whole_grid():
    """Slopes computed block by block (each block reads a one-cell halo) equal those of the whole grid."""
    dem = dem_grid(DEM)
    scheme = ClassScheme(10.0, 5.0, 8)
    blocks = key_array(dem, scheme, chunks=(17, 23)).compute(scheduler="sync")
    z = read_window(dem, 0, dem.height, 0, dem.width)
    slope, aspect = slope_aspect(z, dem.cell_x_m, dem.cell_y_m)
    np.testing.assert_array_equal(blocks, scheme.encode(z, slope, aspect))
    assert len(np.unique(blocks)) > 100  # the sample hills do split into many slope/aspect classes


def test_lookup_maps_classes_and_fills_nodata():
    keys = np.array([[5, -1], [9, 5]])
    table = np.array([[1, 10], [2, 20]], dtype=np.uint8)  # classes 5 and 9, two values each
    out = lookup(keys, np.array([5, 9]), table, 255)
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out[0], [[1, 255], [2, 1]])
    np.testing.assert_array_equal(out[1], [[10, 255], [20, 10]])


# ----------------------------------------------------------------------------------------------------------
# The grid on the sample district
# ----------------------------------------------------------------------------------------------------------
def test_risk_grid_dims_crs_and_classes(grid_run):
    ds = grid_run.dataset
    assert dict(ds["level"].sizes) == {"pest": 4, "horizon": 3, "y": 98, "x": 127}
    assert ds["level"].dtype == np.uint8 and ds["probability"].dtype == np.float32
    assert ds["level"].chunks is not None  # lazy, in blocks
    with rasterio.open(DEM) as src:
        assert ds.rio.crs == src.crs
        assert ds.rio.transform() == src.transform
    level = ds["level"].values
    assert set(np.unique(level)) <= {1, 2, 3, 4, 5} and len(np.unique(level)) >= 3  # the DEM has no nodata
    # the classes are 10 m elevation bins covering the DEM's 278-550 m
    np.testing.assert_allclose(np.diff(ds["class_elevation_m"].values), 10.0)
    assert ds["class_elevation_m"].values[0] == 280.0 and ds["class_elevation_m"].values[-1] == 550.0
    assert int(ds["class_cells"].sum()) == 98 * 127
    # every cell carries its class's results
    keys = ds["class_key"].values
    idx = np.searchsorted(ds["cls"].values, keys)
    np.testing.assert_array_equal(level, np.moveaxis(ds["class_level"].values[idx], (0, 1), (-2, -1)))


def test_grid_cells_equal_the_outlook_of_their_elevation(grid_run, station_weather):
    """A few cells recomputed directly: station weather moved to the (10 m binned) elevation, outlook."""
    from orchard import weather as ow
    from pests.outlook import outlook

    cells = [(0, 0), (10, 100), (50, 64), (97, 126), (70, 20)]
    z = np.array([read_window(grid_run.dem, r, r + 1, c, c + 1)[0, 0] for r, c in cells])
    plots = xr.Dataset(
        {
            "lat": ("plot", np.full(len(z), 25.68)),
            "lon": ("plot", np.full(len(z), 116.46)),
            "elevation_m": ("plot", np.round(z / 10.0) * 10.0),
            "station_id": ("plot", ["58911"] * len(z)),
        },
        coords={"plot": np.arange(len(z))},
    )
    direct = outlook(None, ow.weather_for_plots(station_weather, plots, lapse_rate_c_per_100m=0.6), ISSUE)
    ds = grid_run.dataset
    for i, (r, c) in enumerate(cells):
        np.testing.assert_array_equal(
            ds["level"].values[:, :, r, c], direct["level"].isel(plot=i).transpose("pest", "horizon").values
        )
        np.testing.assert_allclose(
            ds["probability"].values[:, :, r, c],
            direct["probability"].isel(plot=i).transpose("pest", "horizon").values,
            rtol=1e-6,
        )


def test_binning_error_is_small(grid_run, station_weather):
    err = binning_error(grid_run, station_weather, n_cells=80, seed=1)
    assert err["cells"] == 80
    assert err["max_elevation_error_m"] <= 5.0 + 1e-9
    assert err["level_agreement"] >= 0.95
    assert err["max_level_difference"] <= 1


def test_slope_correction_splits_classes_and_changes_the_weather(station_weather, grid_run):
    from growth.slope import slope_weather

    run = risk_grid_run(
        DEM, station_weather, ISSUE, pests=["mites"], slope_correction=True, slope_weather=slope_weather
    )
    ds = run.dataset
    assert ds.attrs["slope_correction"] == 1
    assert len(ds["cls"]) > 10 * len(grid_run.dataset["cls"])
    assert set(np.unique(ds["class_aspect_deg"].values[ds["class_slope_deg"].values > 0])) == {
        0.0,
        45.0,
        90.0,
        135.0,
        180.0,
        225.0,
        270.0,
        315.0,
    }
    # sunny south slopes are warmer than shaded north slopes at the same elevation: their mite outlook differs
    # (at the 3-month horizon, which reaches the autumn peak: in late July the heat keeps mites away on every
    # slope for the next weeks)
    flat = grid_run.dataset["probability"].sel(pest="mites", horizon="3m").values
    assert np.abs(ds["probability"].sel(pest="mites", horizon="3m").values - flat).mean() > 0.005
    with pytest.raises(InputError, match="needs the growth module's slope_weather"):
        risk_grid_run(DEM, station_weather, ISSUE, slope_correction=True)


def test_nearest_station_splits_the_grid(station_weather):
    """Two stations west and east of the DEM: each cell takes the nearer one; a warm east changes the map."""
    dem = dem_grid(DEM)
    west, south, east, north = dem.lonlat_bounds
    lat = (south + north) / 2
    one = station_weather.isel(station=0)
    two = xr.concat([one, one], dim="station").assign_coords(
        station=["W", "E"],
        lat=("station", [lat, lat]),
        lon=("station", [west - 0.01, east + 0.01]),
        elevation_m=("station", [265.0, 265.0]),
    )
    two["tmax_c"] = two["tmax_c"] + xr.DataArray([0.0, 3.0], dims="station")
    run = risk_grid_run(DEM, two, ISSUE, pests=["mites"], chunks=(50, 60))
    keys = run.dataset["class_key"].values
    station = run.scheme.decode(keys)["station"]
    x = run.dataset["x"].values
    midpoint = (x[0] + x[-1]) / 2
    assert (station[:, x < midpoint - 100] == 0).all() and (station[:, x > midpoint + 100] == 1).all()
    assert set(run.dataset["class_station"].values) == {"W", "E"}


def test_gridded_weather_becomes_stations(station_weather):
    one = station_weather.isel(station=0, drop=True)
    grid = xr.concat([xr.concat([one, one], "x"), xr.concat([one, one], "x")], "y")
    grid = grid.assign_coords(
        lat=(("y", "x"), [[25.7, 25.7], [25.6, 25.6]]),
        lon=(("y", "x"), [[116.4, 116.5], [116.4, 116.5]]),
        elevation_m=(("y", "x"), [[300.0, 310.0], [320.0, 330.0]]),
    )
    stations = stations_from_grid(grid.transpose("time", "y", "x"))
    assert stations.sizes["station"] == 4 and stations["tmax_c"].dims == ("time", "station")
    np.testing.assert_allclose(stations["elevation_m"].values, [300.0, 310.0, 320.0, 330.0])
    with pytest.raises(InputError, match="has no 'elevation_m' coordinate"):
        stations_from_grid(grid.drop_vars("elevation_m").transpose("time", "y", "x"))


# ----------------------------------------------------------------------------------------------------------
# Local threads against a dask.distributed cluster
# ----------------------------------------------------------------------------------------------------------
def test_local_threads_and_localcluster_agree(station_weather, engine, monkeypatch, tmp_path):
    """The grid on a 2-worker LocalCluster (worker processes: nothing but the DEM path and small arrays reach
    them) equals the local threaded grid."""
    from distributed import Client, LocalCluster, get_task_stream

    local = risk_grid(DEM, station_weather, ISSUE, pests=["mites", "canker"], chunks=(40, 50))
    expected = local[["level", "probability", "class_key"]].compute(scheduler="threads")
    # Spawned worker processes re-run the parent's __main__ file; after an AppTest in the same pytest
    # process that is the last page script, so give them a __main__ without a file (as an operator's cluster).
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        # the classes are found by the cluster's workers (the block tasks read the DEM themselves)
        ds = risk_grid(
            DEM,
            station_weather,
            ISSUE,
            pests=["mites", "canker"],
            chunks=(40, 50),
            scheduler=cluster.scheduler_address,
        )
        with Client(cluster) as client, get_task_stream(client) as stream:
            got = ds[["level", "probability", "class_key"]].compute(scheduler=client)
    # (a whole export on a cluster, which needs a stored weekly run: tests/exports/test_riskmap_run_numbers.py)
    assert len({task["worker"] for task in stream.data}) == 2  # both workers did blocks
    np.testing.assert_array_equal(got["class_key"].values, expected["class_key"].values)
    np.testing.assert_array_equal(got["level"].values, expected["level"].values)
    np.testing.assert_array_equal(got["probability"].values, expected["probability"].values)
    monkeypatch.setattr("pests.riskmap.SCHEDULER_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(InputError, match="could not connect to the dask scheduler at tcp://127.0.0.1:9"):
        risk_grid(DEM, station_weather, ISSUE, scheduler="tcp://127.0.0.1:9")


# ----------------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------------
def test_dem_without_crs_is_refused(tmp_path, station_weather):
    with rasterio.open(DEM) as src:
        profile, data = src.profile, src.read(1)
    profile.update(crs=None)
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", **profile) as dst:
        dst.write(data, 1)
    with pytest.raises(InputError, match="bare.tif: the DEM has no coordinate reference system; assign"):
        risk_grid(bare, station_weather, ISSUE)


def test_bad_weather_and_parameters(station_weather):
    no_elevation = station_weather.assign_coords(elevation_m=("station", [np.nan]))
    with pytest.raises(InputError, match="a weather station has no elevation"):
        risk_grid(DEM, no_elevation, ISSUE)
    far = station_weather.assign_coords(lat=("station", [30.66]), lon=("station", [104.07]))
    with pytest.raises(InputError, match=r"the nearest weather station \(58911\) is \d+ km from the DEM"):
        risk_grid(DEM, far, ISSUE)
    from orchard.errors import ParameterError

    with pytest.raises(ParameterError, match="grid.elevation_bin"):
        riskmap_parameters({"grid.elevation_bin": 500.0})
    scheme = class_scheme(dem_grid(DEM), station_weather, riskmap_parameters({"grid.elevation_bin": 25.0}))
    assert scheme.elevation_bin_m == 25.0 and scheme.n_slope == 1
