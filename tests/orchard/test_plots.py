"""The plot model: reading, validating, converting and writing plots."""

import json
import os

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from tests.conftest import square
from orchard import coords
from orchard.errors import InputError
from orchard.plots import PLOT_FIELDS, PlotSet, read_plots

LON, LAT = 106.55, 29.56  # Chongqing


def test_sample_plots_are_valid_and_in_range(sample_dir):
    plots = read_plots(sample_dir / "plots.geojson")
    assert len(plots) == 30
    assert plots.frame["area_ha"].between(0.2, 3.0).all()
    assert set(plots.frame["owner_id"]) == {"grower_li", "grower_wang", "grower_chen"}
    assert plots.frame.crs.to_epsg() == 4326


def test_area_is_computed_in_metres(write_geojson):
    # 0.001° × 0.001° at 29.56° N is about 111.3 m × 96.8 m ≈ 1.08 ha.
    plots = read_plots(write_geojson([({"plot_id": "A"}, square(LON, LAT))]))
    expected_ha = 111_320 * 0.001 * 111_320 * np.cos(np.radians(LAT + 0.0005)) * 0.001 / 1e4
    assert plots.frame.loc["A", "area_ha"] == pytest.approx(expected_ha, rel=0.01)


def test_to_dataset_has_plot_dimension_units_and_types(write_geojson):
    path = write_geojson([({"plot_id": 7, "cultivar": "valencia", "trees_per_ha": 800}, square(LON, LAT)),
                          ({"plot_id": 8}, square(LON + 0.01, LAT))])
    ds = read_plots(path).to_dataset()
    assert list(ds["plot"].values) == ["7", "8"]
    assert ds["area_ha"].attrs["units"] == "ha"
    assert ds["trees_per_ha"].values[0] == 800 and np.isnan(ds["trees_per_ha"].values[1])
    assert list(ds["cultivar"].values) == ["valencia", ""]
    assert set(PLOT_FIELDS) <= set(ds.data_vars)


def test_projected_file_is_converted_to_wgs84(tmp_path):
    frame = gpd.GeoDataFrame({"plot_id": ["P1"]}, geometry=[shapely.box(500000, 3270000, 500100, 3270100)],
                             crs="EPSG:32649")
    frame.to_file(tmp_path / "utm.gpkg", engine="pyogrio")
    plots = read_plots(tmp_path / "utm.gpkg")
    assert plots.frame.crs.to_epsg() == 4326
    assert plots.frame.loc["P1", "area_ha"] == pytest.approx(1.0, rel=0.002)
    assert plots.frame.loc["P1", "lon"] == pytest.approx(111.0, abs=0.01)


def test_gcj02_is_converted_only_when_asked(write_geojson):
    wgs_ring = np.array(square(LON, LAT))
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(wgs_ring[:, 0], wgs_ring[:, 1])
    path = write_geojson([({"plot_id": "G"}, np.column_stack([gcj_lon, gcj_lat]).tolist())])
    as_is = read_plots(path)
    converted = read_plots(path, coords="gcj02")
    assert converted.frame.loc["G", "lon"] == pytest.approx(LON + 0.0005, abs=1e-7)
    assert converted.frame.loc["G", "lat"] == pytest.approx(LAT + 0.0005, abs=1e-7)
    # Without the flag the file is taken as WGS84, so it stays several hundred metres off.
    assert abs(as_is.frame.loc["G", "lon"] - converted.frame.loc["G", "lon"]) > 0.002


def test_round_trip_geojson_and_geopackage(tmp_path, sample_dir):
    plots = read_plots(sample_dir / "plots.geojson")
    for name in ("out.geojson", "out.gpkg"):
        path = plots.to_file(tmp_path / name)
        again = read_plots(path)
        assert again.plot_ids == plots.plot_ids
        np.testing.assert_allclose(again.frame["area_ha"], plots.frame["area_ha"], rtol=1e-4)
        assert list(again.frame["name"]) == list(plots.frame["name"])
    written = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert "crs" not in written  # RFC 7946: lon/lat WGS84 implied


def test_records_round_trip_with_horizon(sample_dir):
    plots = read_plots(sample_dir / "plots.geojson")
    horizon = xr.DataArray(np.full((len(plots), 36), 3.0), dims=("plot", "azimuth"),
                           coords={"plot": plots.plot_ids, "azimuth": np.arange(36) * 10.0})
    plots.horizon_deg = horizon
    back = PlotSet.from_records(plots.to_records())
    assert back.plot_ids == plots.plot_ids
    assert back.to_dataset()["horizon_deg"].shape == (30, 36)
    np.testing.assert_allclose(back.frame["area_ha"], plots.frame["area_ha"])


# --- bad input: one clear sentence each ------------------------------------------------------------------

def test_malformed_geojson(write_geojson):
    path = write_geojson(None, raw='{"type": "FeatureCollection", "features": [ {"type": ')
    with pytest.raises(InputError, match="is not a readable GeoJSON file"):
        read_plots(path)


def test_empty_collection(write_geojson):
    with pytest.raises(InputError, match="contains no plots"):
        read_plots(write_geojson([]))


def test_empty_file(tmp_path):
    (tmp_path / "empty.geojson").write_text("")
    with pytest.raises(InputError, match="is empty"):
        read_plots(tmp_path / "empty.geojson")


def test_self_intersecting_polygon(write_geojson):
    bowtie = [[LON, LAT], [LON + 0.001, LAT + 0.001], [LON + 0.001, LAT], [LON, LAT + 0.001], [LON, LAT]]
    path = write_geojson([({"plot_id": "OK"}, square(LON, LAT)), ({"plot_id": "BOW"}, bowtie)])
    with pytest.raises(InputError, match=r"plot BOW has an invalid polygon: Self-intersection"):
        read_plots(path)


def test_duplicate_ids(write_geojson):
    path = write_geojson([({"plot_id": "A"}, square(LON, LAT)), ({"plot_id": "A"}, square(LON + 0.01, LAT))])
    with pytest.raises(InputError, match="duplicate plot ids A"):
        read_plots(path)


def test_missing_id_column_names_what_was_found(write_geojson):
    path = write_geojson([({"name": "x"}, square(LON, LAT))])
    with pytest.raises(InputError, match=r"no 'plot_id' column \(found: name\)"):
        read_plots(path)


def test_no_crs_geopackage(tmp_path):
    frame = gpd.GeoDataFrame({"plot_id": ["P1"]}, geometry=[shapely.box(LON, LAT, LON + 0.001, LAT + 0.001)])
    frame.to_file(tmp_path / "nocrs.gpkg", engine="pyogrio")
    with pytest.raises(InputError, match="has no coordinate reference system"):
        read_plots(tmp_path / "nocrs.gpkg")


def test_metres_labelled_as_degrees(write_geojson):
    ring = [[500000, 3270000], [500100, 3270000], [500100, 3270100], [500000, 3270100], [500000, 3270000]]
    with pytest.raises(InputError, match="look like metres"):
        read_plots(write_geojson([({"plot_id": "M"}, ring)]))


def test_unknown_coords_value(write_geojson):
    path = write_geojson([({"plot_id": "A"}, square(LON, LAT))])
    with pytest.raises(InputError, match="unknown coordinate system 'mars'; use one of wgs84"):
        read_plots(path, coords="mars")


def test_gcj02_requires_lonlat(tmp_path):
    frame = gpd.GeoDataFrame({"plot_id": ["P1"]}, geometry=[shapely.box(500000, 3270000, 500100, 3270100)],
                             crs="EPSG:32649")
    frame.to_file(tmp_path / "utm.gpkg", engine="pyogrio")
    with pytest.raises(InputError, match="needs longitude/latitude"):
        read_plots(tmp_path / "utm.gpkg", coords="gcj02")


def test_point_is_not_a_plot(write_geojson):
    raw = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"plot_id": "PT"}, "geometry": {"type": "Point", "coordinates": [LON, LAT]}}]})
    with pytest.raises(InputError, match="plot PT is a Point, not a polygon"):
        read_plots(write_geojson(None, raw=raw))


def test_tiny_plot_is_refused(write_geojson):
    with pytest.raises(InputError, match="plot T has area = .* outside the plausible range"):
        read_plots(write_geojson([({"plot_id": "T"}, square(LON, LAT, size_deg=0.00002))]))


def test_bad_attribute_values(write_geojson):
    path = write_geojson([({"plot_id": "A", "trees_per_ha": "many"}, square(LON, LAT))])
    with pytest.raises(InputError, match="plot A has trees_per_ha = 'many', which is not a number"):
        read_plots(path)
    path = write_geojson([({"plot_id": "A", "irrigation": "flood"}, square(LON, LAT))])
    with pytest.raises(InputError, match="irrigation = 'flood'; use one of none, drip, sprinkler"):
        read_plots(path)
    path = write_geojson([({"plot_id": "A", "canopy_cover": 80}, square(LON, LAT))])
    with pytest.raises(InputError, match="canopy_cover = 80 1, outside the plausible range 0–1"):
        read_plots(path)


def test_wrong_suffix(tmp_path):
    (tmp_path / "plots.shp").write_text("x")
    with pytest.raises(InputError, match=r"must be GeoJSON \(.geojson\) or GeoPackage"):
        read_plots(tmp_path / "plots.shp")


def test_huge_file_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.geojson"
    with open(huge, "wb") as handle:  # sparse: takes no disk space, but stat() says 3 GB
        handle.truncate(3 * 1024**3)
    with pytest.raises(InputError, match=r"is 3.0 GB, more than the 1024 MB limit"):
        read_plots(huge)


def test_size_limit_is_configurable(tmp_path, monkeypatch, write_geojson):
    path = write_geojson([({"plot_id": "A"}, square(LON, LAT))])
    monkeypatch.setenv("ORCHARD_MAX_FILE_MB", "0.0001")
    with pytest.raises(InputError, match="more than the 0 MB limit"):
        read_plots(path)
    assert os.path.getsize(path) > 0
