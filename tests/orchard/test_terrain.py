"""Tests of orchard.terrain on analytic DEMs (planes, a cone-shaped bowl, a wall), the ESRI worked examples
of Horn's method, and the sample Changting DEM."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import rasterio.warp
import shapely
from affine import Affine

from orchard import terrain
from orchard.errors import InputError

UTM = "EPSG:32649"  # WGS 84 / UTM 49N: the Three Gorges citrus belt
X0, Y0 = 500_000.0, 3_400_000.0  # centre of every synthetic DEM (about 110.99 E, 30.73 N)
SAMPLE_DEM = "dem/changting_youwuzhen_dem30m.tif"


# ---------------------------------------------------------------------------------------------- helpers

def grid(n_rows, n_cols=None, cell_x=30.0, cell_y=None):
    """North-up grid centred on (X0, Y0) with a cell centre exactly at (X0, Y0) for odd sizes."""
    n_cols = n_cols or n_rows
    cell_y = cell_y or cell_x
    transform = Affine(cell_x, 0, X0 - n_cols / 2 * cell_x, 0, -cell_y, Y0 + n_rows / 2 * cell_y)
    cols, rows = np.meshgrid(np.arange(n_cols) + 0.5, np.arange(n_rows) + 0.5)
    x, y = transform @ (cols, rows)
    return transform, x, y


def plane(x, y, facing_deg, slope_deg=20.0, z_centre=1000.0):
    """Plane through (X0, Y0, z_centre) descending towards azimuth ``facing_deg`` at ``slope_deg``."""
    az = np.radians(facing_deg)
    return z_centre - np.tan(np.radians(slope_deg)) * ((x - X0) * np.sin(az) + (y - Y0) * np.cos(az))


def write_dem(path, z, transform, crs=UTM, nodata=None, dtype="float32"):
    with rasterio.open(path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype=dtype,
                       crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(z.astype(dtype), 1)
    return path


def plots(boxes, crs=UTM):
    """GeoDataFrame of square plots from ``{id: (xmin, ymin, xmax, ymax)}`` in UTM, optionally reprojected."""
    gdf = gpd.GeoDataFrame({"plot_id": list(boxes)}, geometry=[shapely.box(*b) for b in boxes.values()],
                           crs=UTM)
    return gdf.to_crs(crs)


def centre_box(half=100.0, dx=0.0, dy=0.0):
    return (X0 + dx - half, Y0 + dy - half, X0 + dx + half, Y0 + dy + half)


def angle_diff(a, b):
    """Smallest absolute difference between directions [deg]."""
    return np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0)


@pytest.fixture
def east_plane_tif(tmp_path):
    transform, x, y = grid(101)
    return write_dem(tmp_path / "east.tif", plane(x, y, 90.0), transform)


# ------------------------------------------------------------------------------------ slope and aspect

def test_horn_slope_matches_esri_worked_example():
    # ESRI "How Slope works": 5 m cells, dz/dx = 0.05, dz/dy = -3.8, slope 75.25762 deg.
    z = np.array([[50, 45, 50], [30, 30, 30], [8, 10, 10]], dtype=float)
    slope, _ = terrain.slope_aspect(z, 5.0, 5.0)
    assert slope[1, 1] == pytest.approx(75.25762, abs=1e-4)


def test_horn_aspect_matches_esri_worked_example():
    # ESRI "How Aspect works": dz/dx = -8.125, dz/dy = -0.375 (per cell) gives aspect 92.64 deg (east).
    z = np.array([[101, 92, 85], [101, 92, 85], [101, 91, 84]], dtype=float)
    _, aspect = terrain.slope_aspect(z, 1.0, 1.0)
    assert aspect[1, 1] == pytest.approx(92.64, abs=0.01)


@pytest.mark.parametrize("facing", [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0])
def test_slope_aspect_of_tilted_plane_everywhere_including_edges(facing):
    # Non-square cells (10 m x 30 m) so that swapping or mis-scaling the axes would show.
    transform, x, y = grid(12, 15, cell_x=10.0, cell_y=30.0)
    slope, aspect = terrain.slope_aspect(plane(x, y, facing), 10.0, 30.0)
    np.testing.assert_allclose(slope, 20.0, atol=1e-9)
    assert angle_diff(aspect, facing).max() < 1e-6
    assert ((aspect >= 0) & (aspect < 360)).all()


def test_flat_ground_has_zero_slope_and_no_aspect():
    slope, aspect = terrain.slope_aspect(np.full((5, 6), 312.0), 30.0, 30.0)
    assert (slope == 0).all()
    assert np.isnan(aspect).all()


def test_nodata_cell_stays_nodata_and_its_neighbours_keep_a_slope():
    transform, x, y = grid(7)
    z = plane(x, y, 180.0)
    z[3, 3] = np.nan
    slope, aspect = terrain.slope_aspect(z, 30.0, 30.0)
    assert np.isnan(slope[3, 3]) and np.isnan(aspect[3, 3])
    assert np.isfinite(slope).sum() == z.size - 1
    # A nodata neighbour takes the centre's value (ArcGIS convention): the surface flattens but still faces S.
    assert 0 < slope[2, 3] < 20.0 + 1e-9
    assert angle_diff(aspect[2, 2:5], 180.0).max() < 45.0


def test_slope_aspect_at_cells_equals_full_grid():
    rng = np.random.default_rng(3)
    z = np.cumsum(np.cumsum(rng.normal(size=(40, 50)), axis=0), axis=1)
    z[10, 10:13] = np.nan
    full_slope, full_aspect = terrain.slope_aspect(z, 30.0, 25.0)
    rows = np.r_[0, 39, 11, 9, 20, rng.integers(0, 40, 30)]
    cols = np.r_[0, 49, 10, 11, 0, rng.integers(0, 50, 30)]
    slope, aspect = terrain.slope_aspect_at(z, rows, cols, 30.0, 25.0)
    np.testing.assert_allclose(slope, full_slope[rows, cols], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(aspect, full_aspect[rows, cols], rtol=1e-12, equal_nan=True)


# --------------------------------------------------------------------------------- circular mean, SVF

def test_circular_mean_wraps_through_north():
    assert terrain.circular_mean_deg([350.0, 10.0]) == pytest.approx(0.0, abs=1e-9)
    assert terrain.circular_mean_deg([350.0, 10.0, 20.0], weights=[1, 1, 0]) == pytest.approx(0.0, abs=1e-9)


def test_circular_mean_weights_nan_and_axis():
    expected = np.degrees(np.arctan2(3.0, 1.0))
    assert terrain.circular_mean_deg([0.0, 90.0], weights=[1.0, 3.0]) == pytest.approx(expected)
    assert terrain.circular_mean_deg([200.0, np.nan, 220.0]) == pytest.approx(210.0)
    assert np.isnan(terrain.circular_mean_deg([90.0, 270.0]))  # opposite directions cancel
    result = terrain.circular_mean_deg(np.array([[350.0, 10.0], [170.0, 190.0]]), axis=1)
    np.testing.assert_allclose(result, [0.0, 180.0], atol=1e-9)


@pytest.mark.parametrize("h", [0.0, 5.0, 14.8, 30.0, 60.0])
def test_sky_view_factor_of_constant_horizon_is_cos_squared(h):
    svf = terrain.sky_view_factor(np.full((2, 36), h))
    np.testing.assert_allclose(svf, np.cos(np.radians(h)) ** 2, rtol=1e-12)


def test_sky_view_factor_is_the_cosine_weighted_form():
    # Half the azimuths walled up to the zenith, half open: half the diffuse sky.
    assert terrain.sky_view_factor(np.r_[np.full(18, 90.0), np.zeros(18)]) == pytest.approx(0.5)
    # The solid-angle form 1 - mean(sin h) is lower for the same horizon (documented in the docstring).
    h = np.full(36, 30.0)
    assert terrain.sky_view_factor(h) == pytest.approx(0.75)
    assert 1 - np.mean(np.sin(np.radians(h))) == pytest.approx(0.5)


# ----------------------------------------------------------------------------------------------- horizon

def test_horizon_of_a_wall_includes_earth_curvature_and_refraction():
    # Flat ground at 0 m with a 100 m high plateau from 2400 m east of the observer: along the east ray the
    # samples fall on cell centres, so bilinear sampling is exact and the first plateau cell gives the max.
    transform, x, y = grid(201, cell_x=30.0)
    z = np.where(x - X0 >= 2400.0 - 1e-6, 100.0, 0.0)
    horizon, azimuth = terrain.horizon_angles(z, transform, [X0], [Y0], [0.0], n_azimuths=4,
                                              search_distance_m=3000.0)
    np.testing.assert_allclose(azimuth, [0, 90, 180, 270])
    drop = (1 - 0.13) * 2400.0**2 / (2 * 6_371_000.0)  # 0.39 m
    expected = np.degrees(np.arctan((100.0 - drop) / 2400.0))
    assert horizon[0, 1] == pytest.approx(expected, abs=1e-9)
    assert np.degrees(np.arctan(100.0 / 2400.0)) - horizon[0, 1] > 0.005  # the curvature term is applied
    np.testing.assert_array_equal(horizon[0, [0, 2, 3]], 0.0)  # flat ground: floored at 0


def test_horizon_stops_at_dem_edge_and_nodata():
    transform, x, y = grid(41)
    z = np.zeros_like(x)
    z[:, 30:] = np.nan  # nodata 300 m east of the centre ...
    z[:, 35:] = 500.0  # ... hides a mountain beyond it
    horizon, _ = terrain.horizon_angles(z, transform, [X0], [Y0], [1.0], n_azimuths=4, search_distance_m=5000)
    np.testing.assert_array_equal(horizon, 0.0)
    assert np.isnan(terrain.horizon_angles(z, transform, [X0], [Y0], [np.nan], n_azimuths=4)[0]).all()


def test_horizon_is_vectorised_over_points():
    transform, x, y = grid(101)
    z = plane(x, y, 90.0)
    px, py = np.array([X0, X0 - 300.0, X0 + 300.0]), np.array([Y0, Y0 + 200.0, Y0 - 100.0])
    z0 = terrain.sample_elevation(z, transform, px, py) + 1.5
    horizon, _ = terrain.horizon_angles(z, transform, px, py, z0, n_azimuths=36, search_distance_m=1000)
    assert horizon.shape == (3, 36)
    for k in range(3):  # the same rows as one point at a time
        single, _ = terrain.horizon_angles(z, transform, px[k:k + 1], py[k:k + 1], z0[k:k + 1],
                                           n_azimuths=36, search_distance_m=1000)
        np.testing.assert_array_equal(single[0], horizon[k])
    # On a plane rising 20 deg to the west the skyline due west is the slope itself, less the eye height.
    assert horizon[0, 27] == pytest.approx(20.0, abs=0.2)
    assert horizon[0, 9] == 0.0


def test_sample_elevation_is_bilinear_and_nan_outside():
    transform, x, y = grid(11)
    z = plane(x, y, 135.0)
    px = np.array([X0 + 7.0, X0 - 100.0, X0 + 1e6])
    py = np.array([Y0 - 11.0, Y0 + 40.0, Y0])
    got = terrain.sample_elevation(z, transform, px, py)
    np.testing.assert_allclose(got[:2], plane(px[:2], py[:2], 135.0), atol=1e-9)
    assert np.isnan(got[2])


# ------------------------------------------------------------------------------------------ plot_terrain

@pytest.mark.parametrize("facing", [90.0, 0.0, 180.0])
def test_plot_on_tilted_plane(tmp_path, facing):
    transform, x, y = grid(101)
    path = write_dem(tmp_path / "plane.tif", plane(x, y, facing), transform)
    ds = terrain.plot_terrain(plots({"P1": centre_box()}), path)
    assert ds.slope_deg.item() == pytest.approx(20.0, abs=0.5)
    assert angle_diff(ds.aspect_deg.item(), facing) < 2.0
    assert ds.elevation_m.item() == pytest.approx(1000.0, abs=0.01)  # symmetric cells around the centre


def test_dataset_layout_units_and_attrs(east_plane_tif):
    gdf = gpd.GeoDataFrame({"code": [7, 12]}, geometry=[shapely.box(*centre_box(dx=-300)),
                                                        shapely.box(*centre_box(dx=300))], crs=UTM)
    ds = terrain.plot_terrain(gdf, east_plane_tif, id_column="code", n_azimuths=8, search_distance_m=900.0)
    assert list(ds["plot"].values) == ["7", "12"]
    assert ds["plot"].dtype.kind == "U"
    np.testing.assert_allclose(ds.azimuth, np.arange(8) * 45.0)
    assert ds.horizon_deg.dims == ("plot", "azimuth")
    for name in ("elevation_m", "slope_deg", "aspect_deg", "sky_view_factor"):
        assert ds[name].dims == ("plot",)
    for name in ds.data_vars:
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    assert ds.attrs["dem_file"].endswith("east.tif")
    assert ds.attrs["search_distance_m"] == 900.0
    assert "cos^2" in ds.attrs["sky_view_factor_definition"]
    # Plot 7 lies 300 m west (uphill) of plot 12 on a 20 deg plane: 600 * tan(20) = 218 m higher.
    diff = float(ds.elevation_m.sel(plot="7") - ds.elevation_m.sel(plot="12"))
    assert diff == pytest.approx(600 * np.tan(np.radians(20)), abs=1.0)


def test_plots_in_another_crs_are_reprojected(east_plane_tif):
    in_utm = terrain.plot_terrain(plots({"A": centre_box(dy=250)}), east_plane_tif)
    in_cgcs = terrain.plot_terrain(plots({"A": centre_box(dy=250)}, crs="EPSG:4490"), east_plane_tif)
    assert in_cgcs.elevation_m.item() == pytest.approx(in_utm.elevation_m.item(), abs=0.5)
    assert in_cgcs.slope_deg.item() == pytest.approx(20.0, abs=0.01)


def test_small_plot_without_cell_centre_uses_touched_cells(east_plane_tif):
    # 20 m x 20 m (0.04 ha) centred on a cell corner: no 30 m cell centre inside, four cells touched equally.
    corner_x, corner_y = X0 + 15.0, Y0 + 15.0
    gdf = plots({"tiny": (corner_x - 10, corner_y - 10, corner_x + 10, corner_y + 10)})
    ds = terrain.plot_terrain(gdf, east_plane_tif)
    assert ds.elevation_m.item() == pytest.approx(1000.0 - 15.0 * np.tan(np.radians(20)), abs=1e-3)
    assert ds.slope_deg.item() == pytest.approx(20.0, abs=1e-3)  # float32 DEM
    assert ds.aspect_deg.item() == pytest.approx(90.0, abs=1e-3)
    # Off-centre: x from X0+2 to X0+26 covers 13 m of the cell centred on X0 and 11 m of the one on X0+30;
    # area weights give the plane at X0 + 30*11/24 = X0 + 13.75 m (equal weights would give X0 + 15 m).
    ds = terrain.plot_terrain(plots({"edge": (X0 + 2, Y0 + 2, X0 + 26, Y0 + 26)}), east_plane_tif)
    assert ds.elevation_m.item() == pytest.approx(1000.0 - 13.75 * np.tan(np.radians(20)), abs=1e-3)


def test_overlapping_plots_each_get_all_their_cells(east_plane_tif):
    # C overlaps both A and B, which overlap each other: three label layers; D touches nothing.
    boxes = {"A": centre_box(half=150), "B": centre_box(half=150, dx=120),
             "C": centre_box(half=100, dx=60, dy=90), "D": centre_box(half=100, dx=-600)}
    together = terrain.plot_terrain(plots(boxes), east_plane_tif, n_azimuths=4)
    for plot_id, box in boxes.items():
        alone = terrain.plot_terrain(plots({plot_id: box}), east_plane_tif, n_azimuths=4)
        expected = alone.elevation_m.item()
        assert float(together.elevation_m.sel(plot=plot_id)) == pytest.approx(expected, abs=1e-9)


def test_bowl_bottom_sees_the_rim_and_flat_ground_sees_open_sky(tmp_path):
    # Cone-shaped bowl: 300 m at the centre rising linearly 400 m over 1.5 km, then a flat plateau at 700 m.
    rise, run = 400.0, 1500.0
    transform, x, y = grid(201)
    z = 300.0 + rise * np.minimum(np.hypot(x - X0, y - Y0), run) / run
    path = write_dem(tmp_path / "bowl.tif", z, transform)
    gdf = plots({"bottom": centre_box(half=50), "plateau": centre_box(half=100, dx=2400, dy=2400)})
    ds = terrain.plot_terrain(gdf, path, observer_height_m=1.5, search_distance_m=3000.0)

    bottom = ds.horizon_deg.sel(plot="bottom").values
    assert (bottom > 5.0).all()
    # Analytic skyline: the rim, 1500 m away, 400 m up, less eye height and curvature drop (0.15 m).
    drop = (1 - 0.13) * run**2 / (2 * 6_371_000.0)
    expected = np.degrees(np.arctan((rise - 1.5 - drop) / run))  # 14.87 deg
    # Tolerance: bilinear sampling can only smear the rim kink over one cell (30 m), which would move the
    # skyline at most 0.3 deg; here the rim distance is a multiple of the 30 m step, so it is sampled
    # directly in all 36 directions and the error stays far below 0.1 deg.
    np.testing.assert_allclose(bottom, expected, atol=0.1)
    svf_bottom = float(ds.sky_view_factor.sel(plot="bottom"))
    assert svf_bottom == pytest.approx(np.cos(np.radians(expected)) ** 2, abs=0.005)
    assert svf_bottom < 0.95

    assert (ds.horizon_deg.sel(plot="plateau").values < 0.05).all()
    assert float(ds.sky_view_factor.sel(plot="plateau")) > 0.99


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4490", "EPSG:3857"])
def test_dem_in_degrees_or_web_mercator_gives_true_slope(tmp_path, crs):
    # A 20 deg plane facing SE built in UTM metres, then warped to the test CRS as a user's DEM would be.
    transform, x, y = grid(121)
    z = plane(x, y, 135.0)
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        UTM, crs, 121, 121, *rasterio.transform.array_bounds(121, 121, transform))
    warped = np.full((height, width), np.nan, dtype="float32")
    rasterio.warp.reproject(z.astype("float32"), warped, src_transform=transform, src_crs=UTM,
                            dst_transform=dst_transform, dst_crs=crs, dst_nodata=np.nan,
                            resampling=rasterio.warp.Resampling.bilinear)
    path = write_dem(tmp_path / "warped.tif", warped, dst_transform, crs=crs, nodata=np.nan)
    ds = terrain.plot_terrain(plots({"P": centre_box()}), path, n_azimuths=4, search_distance_m=500)
    # Web Mercator read as metres would give atan(tan 20 / 1.16) = 17.4 deg at 30.7 N.
    assert ds.slope_deg.item() == pytest.approx(20.0, abs=0.5)
    assert angle_diff(ds.aspect_deg.item(), 135.0) < 2.0
    assert ds.attrs["working_crs"] == UTM
    assert ds.attrs["dem_crs"] == crs


def test_rotated_grid_is_warped_north_up(tmp_path):
    n = 101
    transform = Affine.translation(X0, Y0) @ Affine.rotation(30) @ Affine(30, 0, -n * 15, 0, -30, n * 15)
    cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    x, y = transform @ (cols, rows)
    path = write_dem(tmp_path / "rotated.tif", plane(x, y, 0.0), transform)
    ds = terrain.plot_terrain(plots({"P": centre_box()}), path, n_azimuths=4, search_distance_m=300)
    assert ds.slope_deg.item() == pytest.approx(20.0, abs=0.5)
    assert angle_diff(ds.aspect_deg.item(), 0.0) < 2.0


def test_sample_dem_gives_plausible_terrain(sample_dir):
    path = sample_dir / SAMPLE_DEM
    dem = terrain.read_dem(path)
    assert dem.crs.to_epsg() == 2415
    left, bottom, right, top = dem.bounds()
    boxes = [(500, 500, 150, 120), (1800, 1500, 200, 100), (3000, 2400, 120, 150), (1000, 2200, 60, 40)]
    geoms = [shapely.box(left + dx, bottom + dy, left + dx + w, bottom + dy + h) for dx, dy, w, h in boxes]
    gdf = gpd.GeoDataFrame({"plot_id": ["S1", "S2", "S3", "S4"]}, geometry=geoms, crs=dem.crs)
    gdf = gdf.to_crs("EPSG:4490")  # plots are stored in CGCS2000 longitude/latitude
    ds = terrain.plot_terrain(gdf, path, search_distance_m=2000.0)

    assert ((ds.elevation_m >= 278) & (ds.elevation_m <= 550)).all()
    assert ((ds.slope_deg >= 0) & (ds.slope_deg <= 35)).all()
    assert ((ds.aspect_deg >= 0) & (ds.aspect_deg < 360)).all()
    assert np.isfinite(ds.horizon_deg).all() and (ds.horizon_deg >= 0).all() and (ds.horizon_deg < 60).all()
    assert ((ds.sky_view_factor > 0.5) & (ds.sky_view_factor <= 1)).all()
    assert ds.horizon_deg.max() > 1.0  # hilly terrain: some skyline above the horizontal

    # Cross-check plot means against the full slope grid masked independently with geometry_mask.
    slope, _ = terrain.slope_aspect(dem.elevation_m, 30.0, 30.0)
    for k, geom in enumerate(geoms[:3]):
        inside = rasterio.features.geometry_mask([geom], dem.elevation_m.shape, dem.transform, invert=True)
        assert float(ds.slope_deg[k]) == pytest.approx(slope[inside].mean(), abs=1e-6)
        assert float(ds.elevation_m[k]) == pytest.approx(dem.elevation_m[inside].mean(), abs=1e-6)


# ---------------------------------------------------------------------------------------------- errors

def test_dem_without_crs(tmp_path):
    transform, x, y = grid(5)
    path = write_dem(tmp_path / "nocrs.tif", plane(x, y, 90.0), transform, crs=None)
    with pytest.raises(InputError,
                       match=r"nocrs\.tif: the DEM has no coordinate reference system.*gdal_edit\.py -a_srs"):
        terrain.read_dem(path)


def test_non_raster_file(tmp_path):
    path = tmp_path / "dem.tif"
    path.write_text("elevation,x,y\n300,1,2\n")
    with pytest.raises(InputError, match=r"dem\.tif: is not a readable GeoTIFF/raster"):
        terrain.read_dem(path)


def test_empty_and_missing_file(tmp_path):
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(InputError, match="the DEM is empty"):
        terrain.read_dem(tmp_path / "empty.tif")
    with pytest.raises(InputError, match="no such DEM"):
        terrain.plot_terrain(plots({"A": centre_box()}), tmp_path / "missing.tif")


def test_all_nodata_dem(tmp_path):
    transform, _, _ = grid(5)
    path = write_dem(tmp_path / "void.tif", np.full((5, 5), -9999.0), transform, nodata=-9999.0)
    with pytest.raises(InputError, match="contains only nodata cells"):
        terrain.read_dem(path)


def test_undeclared_nodata_value(tmp_path):
    transform, x, y = grid(5)
    z = plane(x, y, 90.0)
    z[0, 0] = -32768
    path = write_dem(tmp_path / "srtm.tif", z, transform, dtype="int16")
    with pytest.raises(InputError, match=r"-32768 .*outside the plausible.*declare the nodata value"):
        terrain.read_dem(path)


def test_declared_nodata_becomes_nan(tmp_path):
    transform, x, y = grid(5)
    z = plane(x, y, 90.0)
    z[0, 0] = -32768
    dem = terrain.read_dem(write_dem(tmp_path / "srtm.tif", z, transform, dtype="int16", nodata=-32768))
    assert np.isnan(dem.elevation_m[0, 0]) and np.isfinite(dem.elevation_m).sum() == 24


def test_plots_outside_the_dem_are_named_in_one_error(east_plane_tif):
    gdf = plots({"P01": centre_box(), "P07": centre_box(dx=5000), "P12": centre_box(dx=1450),  # partly out
                 "P13": centre_box(dy=-300)})
    expected = (r"plots P07, P12 lie outside the DEM east\.tif \(bounds .*EPSG:32649\); "
                r"use a DEM that covers them")
    with pytest.raises(InputError, match=expected) as err:
        terrain.plot_terrain(gdf, east_plane_tif)
    assert "P01" not in str(err.value) and "P13" not in str(err.value)


def test_plot_on_nodata_is_named(tmp_path):
    transform, x, y = grid(101)
    z = plane(x, y, 90.0)
    z[40:60, 60:80] = -9999.0
    path = write_dem(tmp_path / "holes.tif", z, transform, nodata=-9999.0)
    gdf = plots({"ok": centre_box(dx=-500), "wet": centre_box(dx=600, half=50)})
    with pytest.raises(InputError, match=r"plot wet lies on nodata cells of the DEM holes\.tif"):
        terrain.plot_terrain(gdf, path)


def test_bad_plot_tables(east_plane_tif):
    with pytest.raises(InputError, match="no plots were given"):
        terrain.plot_terrain(plots({}), east_plane_tif)
    no_crs = gpd.GeoDataFrame({"plot_id": ["A"]}, geometry=[shapely.box(*centre_box())])
    with pytest.raises(InputError, match="the plots have no coordinate reference system"):
        terrain.plot_terrain(no_crs, east_plane_tif)
    with pytest.raises(InputError, match="no column 'field'"):
        terrain.plot_terrain(plots({"A": centre_box()}), east_plane_tif, id_column="field")
    dup = gpd.GeoDataFrame({"plot_id": ["A", "A"]}, geometry=[shapely.box(*centre_box())] * 2, crs=UTM)
    with pytest.raises(InputError, match="plot id A appears more than once"):
        terrain.plot_terrain(dup, east_plane_tif)
    points = gpd.GeoDataFrame({"plot_id": ["A", "B"]}, geometry=[shapely.box(*centre_box()),
                                                                 shapely.Point(X0, Y0)], crs=UTM)
    with pytest.raises(InputError, match="plot B has no polygon geometry"):
        terrain.plot_terrain(points, east_plane_tif)
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    invalid = gpd.GeoDataFrame({"plot_id": ["X"]}, geometry=[bowtie], crs=UTM)
    with pytest.raises(InputError, match="plot X has an invalid polygon"):
        terrain.plot_terrain(invalid, east_plane_tif)
    with pytest.raises(InputError, match="n_azimuths=0 must be"):
        terrain.plot_terrain(plots({"A": centre_box()}), east_plane_tif, n_azimuths=0)
    with pytest.raises(InputError, match="search_distance_m=-5 must be a positive number of metres"):
        terrain.plot_terrain(plots({"A": centre_box()}), east_plane_tif, search_distance_m=-5)


# ------------------------------------------------------------------------------- windowed reading

def test_only_the_plots_neighbourhood_is_read_and_results_equal_a_full_read(tmp_path):
    # 401 x 401 cells of 30 m (12 km): rolling hills; one plot near the south-west corner.
    transform, x, y = grid(401)
    z = 500 + 80 * np.sin((x - X0) / 900.0) * np.cos((y - Y0) / 1300.0) + 0.02 * (x - X0)
    path = write_dem(tmp_path / "hills.tif", z, transform)
    corner = plots({"SW": centre_box(half=60.0, dx=-5000.0, dy=-5000.0)})

    windowed = terrain.read_dem(path, bounds=terrain._area_of_interest(path, corner, 600.0))
    assert windowed.elevation_m.size < 0.05 * z.size  # ~46 x 46 cells instead of 401 x 401
    assert windowed.file_bounds == pytest.approx(terrain.read_dem(path).bounds())

    from_window = terrain.plot_terrain(corner, path, search_distance_m=600.0)
    from_full = terrain.plot_terrain(corner, terrain.read_dem(path), search_distance_m=600.0)
    for name in ("elevation_m", "slope_deg", "aspect_deg", "sky_view_factor", "horizon_deg"):
        np.testing.assert_allclose(from_window[name].values, from_full[name].values, rtol=1e-9, atol=1e-9)


def test_plot_far_outside_a_windowed_read_is_named_with_the_file_bounds(tmp_path):
    transform, x, y = grid(101)
    path = write_dem(tmp_path / "small.tif", plane(x, y, 90.0), transform)
    far = plots({"FAR": centre_box(dx=50_000.0)})
    with pytest.raises(InputError, match=r"plot FAR lies outside the DEM small.tif \(bounds 498485, "):
        terrain.plot_terrain(far, path)


def test_hillshade_lights_slopes_facing_the_sun():
    facing_sun = terrain.hillshade(30.0, 315.0)
    facing_away = terrain.hillshade(30.0, 135.0)
    flat = terrain.hillshade(0.0, np.nan)
    assert facing_sun == pytest.approx(np.cos(np.radians(15.0)))  # sun 45° up, slope tilted 30° towards it
    assert facing_away == pytest.approx(np.sin(np.radians(15.0)))
    assert flat == pytest.approx(np.sin(np.radians(45.0)))
    assert terrain.hillshade(80.0, 135.0) == 0.0  # self-shadowed
