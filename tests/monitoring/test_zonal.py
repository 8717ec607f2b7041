"""Per-plot statistics on real Sentinel-2 NDVI (eo-learn, Slovenia) against an independent computation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
import xarray as xr
from imagery_helpers import IMAGERY
from pyproj import Transformer

from monitoring import zonal
from orchard.errors import InputError

EOLEARN = IMAGERY / "eolearn_s2_ndvi"
# Grid of the eo-learn patch (SOURCE.txt): EPSG:32633, 100 columns x 101 rows, row 0 = north.
LEFT, BOTTOM, RIGHT, TOP = 465181.0522318204, 5079244.8912012065, 466180.53145382757, 5080254.63349641
TRANSFORM = rasterio.transform.from_bounds(LEFT, BOTTOM, RIGHT, TOP, 100, 101)
#: Plots drawn on pixel edges (col0, row0, col1, row1), plus an L-shape: every pixel fully in or out.
BOXES = {"A": (5, 5, 25, 20), "B": (40, 10, 48, 60), "C": (60, 70, 95, 98), "D": (10, 60, 13, 64)}


def _ndvi(date_index: int) -> np.ndarray:
    ndvi = np.load(EOLEARN / "NDVI.npy")[date_index, :, :, 0].astype(np.float32)
    cloud = np.load(EOLEARN / "CLM.npy")[date_index, :, :, 0].astype(bool)
    return np.where(cloud, np.nan, ndvi)


def _pixel_box(c0, r0, c1, r1):
    x0, y0 = TRANSFORM * (c0, r0)
    x1, y1 = TRANSFORM * (c1, r1)
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _plots_utm():
    geoms = {k: _pixel_box(*v) for k, v in BOXES.items()}
    geoms["L"] = shapely.union(_pixel_box(70, 5, 90, 12), _pixel_box(70, 12, 77, 30)).normalize()
    return geoms


@pytest.fixture(scope="module")
def plot_file(tmp_path_factory):
    """The plots as a lon/lat GeoJSON (full precision), read back through orchard.plots."""
    to_wgs84 = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    features = []
    for plot_id, geom in _plots_utm().items():
        geom = shapely.transform(geom, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
        features.append(
            {
                "type": "Feature",
                "properties": {"plot_id": plot_id},
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
    path = tmp_path_factory.mktemp("plots") / "plots.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _write(tmp_path, values):
    path = tmp_path / "ndvi.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=100,
        height=101,
        count=1,
        dtype="float32",
        crs="EPSG:32633",
        transform=TRANSFORM,
        nodata=np.nan,
    ) as dst:
        dst.write(values, 1)
    return path


@pytest.mark.parametrize("date_index", [0, 3, 7, 20, 45])
def test_means_agree_with_rasterio_mask_and_numpy(tmp_path, plot_file, date_index):
    values = _ndvi(date_index)
    path = _write(tmp_path, values)
    table = zonal.zonal_stats(path, plot_file, stats=("mean", "median", "std", "count", "p10"))
    assert list(table.index) == ["A", "B", "C", "D", "L"]
    with rasterio.open(path) as src:
        raster = src.read(1)
        for plot_id, geom in _plots_utm().items():
            # rasterio's mask (pixel-centre rule); on pixel-edge polygons that is exactly the covered pixels
            inside = rasterio.features.geometry_mask(
                [geom], out_shape=src.shape, transform=src.transform, all_touched=False, invert=True
            )
            pixels = raster[inside]
            clear = pixels[np.isfinite(pixels)]
            assert table.loc[plot_id, "clear_fraction"] == pytest.approx(clear.size / pixels.size, abs=0.002)
            if clear.size == 0:
                assert np.isnan(table.loc[plot_id, "mean"])
                continue
            assert table.loc[plot_id, "mean"] == pytest.approx(clear.mean(), abs=0.002)
            assert table.loc[plot_id, "count"] == pytest.approx(clear.size, abs=0.01)
            assert table.loc[plot_id, "std"] == pytest.approx(clear.std(), abs=0.002)
            assert table.loc[plot_id, "usable"] == (clear.size / pixels.size >= 0.5)


def test_xarray_input_equals_file_input(tmp_path, plot_file):
    values = _ndvi(3)
    ys = TOP + TRANSFORM.e * (np.arange(101) + 0.5)
    xs = LEFT + TRANSFORM.a * (np.arange(100) + 0.5)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": ys, "x": xs}).rio.write_crs("EPSG:32633")
    from_array = zonal.zonal_stats(da, plot_file)
    from_file = zonal.zonal_stats(_write(tmp_path, values), plot_file)
    np.testing.assert_allclose(
        from_array[["mean", "count", "clear_fraction"]].to_numpy(dtype=float),
        from_file[["mean", "count", "clear_fraction"]].to_numpy(dtype=float),
        rtol=1e-5,
    )


def test_coverage_weighting_on_a_half_pixel_edge(tmp_path):
    import geopandas as gpd

    values = np.zeros((101, 100), np.float32)
    values[:, 10] = 1.0  # a column of ones: a plot covering half of it gets weight 0.5 there
    x0, y0 = TRANSFORM * (10, 0)
    x1, y1 = TRANSFORM * (12, 10)
    geom = shapely.box(x0 + (x1 - x0) / 4, y1, x1, y0)  # covers column 10 by half, column 11 fully
    plots = gpd.GeoDataFrame({"plot_id": ["H"]}, geometry=[geom], crs="EPSG:32633")
    table = zonal.zonal_stats(_write(tmp_path, values), plots, stats=("mean", "count"))
    assert table.loc["H", "mean"] == pytest.approx(0.5 / 1.5, abs=1e-4)
    assert table.loc["H", "count"] == pytest.approx(15.0, abs=1e-3)


def test_dates_below_clear_fraction_are_flagged_not_averaged(tmp_path, plot_file):
    # Date 8 (2015-12-08, second pass) is > 90 % cloudy in the real mask.
    cloud = np.load(EOLEARN / "CLM.npy")[:, :, :, 0].mean(axis=(1, 2))
    cloudy = int(np.flatnonzero(cloud > 0.9)[0])
    table = zonal.zonal_stats(_write(tmp_path, _ndvi(cloudy)), plot_file, min_clear_fraction=0.5)
    assert (~table["usable"]).sum() >= 4
    assert (table.loc[~table["usable"], "clear_fraction"] < 0.5).all()


def test_bad_raster_input(tmp_path, plot_file):
    import warnings

    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
    with rasterio.open(
        tmp_path / "nocrs.tif", "w", driver="GTiff", width=3, height=3, count=1, dtype="float32"
    ) as dst:
        dst.write(np.zeros((1, 3, 3), np.float32))
    with pytest.raises(InputError, match="the raster has no coordinate reference system"):
        zonal.zonal_stats(tmp_path / "nocrs.tif", plot_file)
    path = _write(tmp_path, _ndvi(0))
    with pytest.raises(InputError, match="band 2 is missing"):
        zonal.zonal_stats(path, plot_file, band=2)
    with pytest.raises(InputError, match="unknown statistic 'average'"):
        zonal.zonal_stats(path, plot_file, stats=("average",))
