"""Readers: DN -> reflectance by baseline, SCL masking, scenes, stacks, Landsat, drone, bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
from imagery_helpers import DEM, IMAGERY, write_scene

from monitoring import imagery, zonal
from orchard.errors import InputError


# -- offset by processing baseline -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "baseline, expected",
    [
        (3.0, 0.1234),
        ("03.01", 0.1234),
        (3.99, 0.1234),
        (4.0, 0.0234),
        ("04.00", 0.0234),
        ("N0400", 0.0234),
        (5.09, 0.0234),
        ("N0509", 0.0234),
    ],
)
def test_offset_applied_from_baseline_04_not_before(baseline, expected):
    out = imagery.to_reflectance(np.array([1234, 0], np.uint16), baseline, "B04")
    assert out.dtype == np.float32
    assert out[0] == pytest.approx(expected, abs=1e-6)
    assert np.isnan(out[1])  # DN 0 = no data stays missing


def test_offset_xarray_and_metadata_override():
    da = xr.DataArray(np.array([[2000, 0]], np.uint16), dims=("y", "x"))
    out = imagery.to_reflectance(da, 5.0, "B08")
    assert out.dtype == np.float32 and out.attrs["units"] == "1"
    assert float(out[0, 0]) == pytest.approx(0.1) and np.isnan(float(out[0, 1]))
    assert imagery.to_reflectance(np.array([2000]), 5.0, "B08", offset=0)[0] == pytest.approx(0.2)


def test_offset_never_from_date_reprocessed_2015_scene(stack_paths):
    # S2_20150801 was sensed in 2015 but is a Collection-1 reprocessed product (PB 05.00): its DNs carry
    # +1000 and must lose it; S2_20160805, a year later, is an original PB 02.04 product without the offset.
    info_old = imagery.read_scene_info(IMAGERY / "s2_synthetic" / "S2_20160805.tif")
    info_new = imagery.read_scene_info(IMAGERY / "s2_synthetic" / "S2_20150801.tif")
    assert info_old.offset_of("B04") == 0 and info_new.offset_of("B04") == -1000
    clear = {}
    for info in (info_old, info_new):
        ds = imagery.read_scene(info.path, ("B04", "B08"))
        veg = ds["scl"].to_numpy() == 4
        ndvi = (ds["B08"] - ds["B04"]) / (ds["B08"] + ds["B04"])
        clear[info.scene_id] = (float(ds["B08"].to_numpy()[veg].mean()), float(ndvi.to_numpy()[veg].mean()))
    # Both scenes show ~0.30 NIR reflectance over vegetation and similar NDVI; without the offset the
    # reprocessed one would read 0.40 and an NDVI shrunk toward 0 ("poor growth" out of nothing).
    for nir, ndvi in clear.values():
        assert nir == pytest.approx(0.30, abs=0.02)
        assert ndvi > 0.6


def test_bad_baseline_is_one_sentence():
    with pytest.raises(InputError, match="processing baseline '2022-01-25' is not like"):
        imagery.to_reflectance(np.array([1]), "2022-01-25")
    with pytest.raises(InputError, match="not a Sentinel-2 reflectance band"):
        imagery.to_reflectance(np.array([1]), 4.0, band="SCL")


# -- SCL masking -------------------------------------------------------------------------------------------
def test_scl_invalid_classes_and_dark_area_on_steep_slopes():
    scl = np.arange(12).reshape(1, 12)
    clear = imagery.scl_clear_mask(scl, dilation_px=0)
    assert clear.tolist() == [[c in (4, 5, 6, 7) for c in range(12)]]  # class 2 masked: slope unknown
    flat = imagery.scl_clear_mask(scl, np.zeros((1, 12)), steep_slope_deg=15, dilation_px=0)
    steep = imagery.scl_clear_mask(scl, np.full((1, 12), 30.0), steep_slope_deg=15, dilation_px=0)
    assert flat[0, 2] and not steep[0, 2]


def test_scl_dilation_grows_cloud_not_nodata():
    scl = np.full((5, 5), 4)
    scl[2, 2] = 9
    scl[0, 0] = 0
    clear = imagery.scl_clear_mask(scl, dilation_px=1)
    assert (~clear).sum() == 5 + 1  # the cloud pixel plus its 4 neighbours, plus the no-data pixel


def _tiny_scene(tmp_path, scl, red_dn, nir_dn, name="s.tif", **kw):
    shape = scl.shape
    return write_scene(
        tmp_path / name,
        {
            "B04": np.full(shape, red_dn) if np.isscalar(red_dn) else red_dn,
            "B08": np.full(shape, nir_dn) if np.isscalar(nir_dn) else nir_dn,
            "SCL": scl,
        },
        **kw,
    )


def _square_plot(x0=445000.0, y1=2841000.0, size=100.0):
    return gpd.GeoDataFrame(
        {"plot_id": ["P1"]}, geometry=[shapely.box(x0, y1 - size, x0 + size, y1)], crs="EPSG:32650"
    )


def test_masked_scl_classes_never_enter_a_mean(tmp_path):
    # 10 x 10 px plot: left half vegetation (NDVI 0.6), right half every invalid class with NDVI ~0.
    scl = np.full((10, 10), 4, np.uint16)
    red = np.full((10, 10), 1000 + 500, np.uint16)
    nir = np.full((10, 10), 1000 + 2000, np.uint16)
    invalid = [1, 3, 8, 9, 10, 11, 2]
    for i, c in enumerate(invalid):
        scl[:, 5 + i % 5] = c if i < 5 else scl[:, 5 + i % 5]
    scl[0:5, 5:] = 11
    scl[5:, 5:] = np.array([1, 3, 8, 9, 10])[None, :]
    red[:, 5:], nir[:, 5:] = 1000 + 2000, 1000 + 2000
    path = _tiny_scene(tmp_path, scl, red, nir, baseline="04.00")
    table = zonal.scene_index_stats(
        path, _square_plot(), "ndvi", ("mean", "min", "max", "count"), dilation_px=0
    )
    row = table.loc["P1"]
    expected = (2000 - 500) / (2000 + 500)
    assert row["mean"] == pytest.approx(expected, abs=1e-6)
    assert row["min"] == pytest.approx(expected, abs=1e-6)
    assert row["clear_fraction"] == pytest.approx(0.5)
    assert bool(row["usable"])  # 0.5 is at the threshold
    # Dark area (2) in the plot with unknown slope is masked too.
    scl2 = scl.copy()
    scl2[:, :5] = 2
    table2 = zonal.scene_index_stats(
        _tiny_scene(tmp_path, scl2, red, nir, name="dark.tif"), _square_plot(), dilation_px=0
    )
    assert table2.loc["P1", "clear_fraction"] == 0 and not table2.loc["P1", "usable"]


def test_dark_area_kept_on_flat_ground_with_slope(tmp_path):
    scl = np.full((10, 10), 2, np.uint16)
    path = _tiny_scene(tmp_path, scl, 1500, 3000)
    flat = zonal.scene_index_stats(path, _square_plot(), slope_deg=np.zeros((10, 10)), dilation_px=0)
    assert flat.loc["P1", "clear_fraction"] == pytest.approx(1.0)


# -- scenes and stacks -------------------------------------------------------------------------------------
def test_read_scene_info_of_sample_scene(stack_paths):
    info = imagery.read_scene_info(stack_paths[0])
    assert set(info.bands) == {"B04", "B08", "SCL"}
    assert info.processing_baseline == 2.01 and info.crs == "EPSG:32650"
    record = info.record()
    assert record["sensor"] == "MSI" and record["bounds_wkt"].startswith("POLYGON")


def test_open_stack_is_lazy_and_matches_eager_read(stack_paths):
    stack = imagery.open_stack(stack_paths[:4], ("B04", "B08"), chunks=128)
    assert stack["B04"].chunks is not None  # dask-backed, nothing read yet
    assert stack.sizes["time"] == 4 and list(stack["processing_baseline"].values) == [2.01, 5.0, 2.01, 2.01]
    eager = imagery.read_scene(stack_paths[3], ("B04", "B08"))
    np.testing.assert_allclose(
        stack["B08"].isel(time=3).compute().to_numpy(), eager["B08"].to_numpy(), rtol=1e-6
    )
    np.testing.assert_array_equal(stack["clear"].isel(time=3).compute().to_numpy(), eager["clear"].to_numpy())


def test_mtd_xml_folder_layout(tmp_path):
    folder = tmp_path / "S2B_MSIL2A_20220301_N0400"
    folder.mkdir()
    for band, value in (("B04", 1500), ("B08", 3000)):
        with rasterio.open(
            folder / f"T50RMN_20220301_{band}_10m.jp2".replace(".jp2", ".tif"),
            "w",
            driver="GTiff",
            width=4,
            height=4,
            count=1,
            dtype="uint16",
            crs="EPSG:32650",
            transform=rasterio.transform.from_origin(445000, 2841000, 10, 10),
        ) as dst:
            dst.write(np.full((1, 4, 4), value, np.uint16))
    (folder / "MTD_MSIL2A.xml").write_text(
        "<root><PRODUCT_START_TIME>2022-03-01T02:55:01.024Z</PRODUCT_START_TIME>"
        "<SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME><PROCESSING_BASELINE>04.00</PROCESSING_BASELINE>"
        "<BOA_ADD_OFFSET band_id='3'>-1000</BOA_ADD_OFFSET><BOA_ADD_OFFSET band_id='7'>-1000</BOA_ADD_OFFSET>"
        "</root>"
    )
    info = imagery.read_scene_info(folder)
    assert info.processing_baseline == 4.0 and info.platform == "Sentinel-2B"
    assert info.boa_add_offset == {"B04": -1000.0, "B08": -1000.0}
    ds = imagery.read_scene(folder, ("red", "nir"))
    assert float(ds["B04"][0, 0]) == pytest.approx(0.05) and float(ds["B08"][0, 0]) == pytest.approx(0.2)


# -- bad input: one sentence each ---------------------------------------------------------------------------
def test_scene_without_crs(tmp_path):
    path = _tiny_scene(tmp_path, np.full((4, 4), 4, np.uint16), 1500, 3000, crs=None)
    with pytest.raises(InputError, match="has no coordinate reference system"):
        imagery.read_scene_info(path)


def test_band_missing(tmp_path):
    path = write_scene(tmp_path / "s.tif", {"B04": np.full((4, 4), 1500), "SCL": np.full((4, 4), 4)})
    with pytest.raises(InputError, match=r"band B08 is missing \(the scene has B04, SCL\)"):
        zonal.scene_index_stats(path, _square_plot())


def test_scene_not_overlapping_any_plot(tmp_path):
    path = _tiny_scene(tmp_path, np.full((4, 4), 4, np.uint16), 1500, 3000, origin=(300000.0, 2800000.0))
    with pytest.raises(InputError, match="does not overlap any plot"):
        zonal.scene_index_stats(path, _square_plot())


def test_all_cloud_scene(tmp_path, stack_paths, sample_plots):
    path = _tiny_scene(tmp_path, np.full((10, 10), 9, np.uint16), 3000, 3300)
    with pytest.raises(InputError, match="no clear pixel over any plot"):
        zonal.scene_index_stats(path, _square_plot(), require_clear=True)
    # An all-cloud date of the sample (2015-03-04, no sunshine that day): every plot flagged, none averaged.
    table = zonal.scene_index_stats(IMAGERY / "s2_synthetic" / "S2_20150304.tif", sample_plots)
    assert not table["usable"].any() and table["mean"].isna().all()


def test_mismatched_resolutions_without_resampling(tmp_path):
    folder = tmp_path / "product"
    folder.mkdir()
    for band, pixel, n in (("B04", 10, 8), ("B08", 10, 8), ("SCL", 20, 4)):
        with rasterio.open(
            folder / f"T50_{band}.tif",
            "w",
            driver="GTiff",
            width=n,
            height=n,
            count=1,
            dtype="uint16",
            crs="EPSG:32650",
            transform=rasterio.transform.from_origin(445000, 2841000, pixel, pixel),
        ) as dst:
            dst.write(np.full((1, n, n), 4 if band == "SCL" else 2000, np.uint16))
    (folder / "metadata.json").write_text(
        '{"acquired_utc": "2023-01-01T03:00:00Z", "processing_baseline": "05.09"}'
    )
    with pytest.raises(InputError, match="band SCL is 20 m but B04 is 10 m; pass resample=True"):
        imagery.read_scene(folder)
    ds = imagery.read_scene(folder, resample=True)
    assert ds["scl"].shape == (8, 8) and bool(ds["clear"].all())


def test_unnamed_bands_and_missing_time(tmp_path):
    path = _tiny_scene(tmp_path, np.full((4, 4), 4, np.uint16), 1, 1, descriptions=False)
    with pytest.raises(InputError, match="the bands have no names"):
        imagery.read_scene_info(path)
    path = _tiny_scene(
        tmp_path,
        np.full((4, 4), 4, np.uint16),
        1,
        1,
        name="t.tif",
        meta_extra={"acquired_utc": "2023-05-01 10:55"},
    )
    with pytest.raises(InputError, match="has no time zone"):
        imagery.read_scene_info(path)


# -- Landsat and drone -------------------------------------------------------------------------------------
def test_landsat_scale_offset_and_qa_bits():
    assert imagery.landsat_reflectance(np.array([10000]))[0] == pytest.approx(10000 * 0.0000275 - 0.2)
    assert np.isnan(imagery.landsat_reflectance(np.array([0]))[0])
    assert imagery.landsat_surface_temperature_k(np.array([44000]))[0] == pytest.approx(
        44000 * 0.00341802 + 149
    )
    qa = np.array(
        [21824, 1 << 3, 1 << 4, 1 << 1, 1 << 5, 1 << 0, 1 << 6]
    )  # 21824: clear land (bits 6, 8, 10, 12, 14)
    assert imagery.landsat_clear_mask(qa).tolist() == [True, False, False, False, False, False, True]


def test_landsat_scene_folder(tmp_path):
    for name, value in (("LC09_X_SR_B4", 12000), ("LC09_X_SR_B5", 20000), ("LC09_X_QA_PIXEL", 21824)):
        with rasterio.open(
            tmp_path / f"{name}.TIF",
            "w",
            driver="GTiff",
            width=3,
            height=3,
            count=1,
            dtype="uint16",
            crs="EPSG:32650",
            transform=rasterio.transform.from_origin(445000, 2841000, 30, 30),
        ) as dst:
            dst.write(np.full((1, 3, 3), value, np.uint16))
    ds = imagery.read_landsat_scene(tmp_path)
    assert float(ds["red"][0, 0]) == pytest.approx(12000 * 0.0000275 - 0.2, abs=1e-6)
    assert bool(ds["clear"].all())
    with pytest.raises(InputError, match=r"\*_SR_B2.TIF is missing"):
        imagery.read_landsat_scene(tmp_path, ("blue",))


def test_read_drone_rgb_real_orthomosaic():
    ds = imagery.read_drone_rgb(IMAGERY / "deepforest_drone" / "australia.tif")
    assert ds["red"].shape == (708, 751) and ds.rio.crs.to_epsg() == 32753
    assert bool(ds["valid"].all())


def test_dem_slope_on_scene_grid(stack_paths):
    from monitoring import run

    slope = run.scene_slope(imagery.read_scene_info(stack_paths[0]), DEM)
    assert slope.shape == rasterio.open(stack_paths[0]).shape
    assert 5 < np.nanmedian(slope) < 40  # hilly Changting
