"""Poor-growth signals on the synthetic sample stack with planted patches, and the signal functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from monitoring import anomalies


def test_planted_patches_found_with_iou(monitoring_result, truth):
    patches, notes = truth
    zones = monitoring_result.zones
    for plot_id in notes["poor_patch_plots"]:
        mine = patches.loc[patches["plot_id"] == plot_id]
        planted = mine.to_crs("EPSG:32650").geometry.union_all()
        found = zones.loc[zones["plot_id"] == plot_id].to_crs("EPSG:32650").geometry.union_all()
        iou = planted.intersection(found).area / planted.union(found).area
        assert iou >= 0.5, (plot_id, iou)
        alert = monitoring_result.alerts.query("plot_id == @plot_id and signal == 'within_plot'").iloc[0]
        assert alert["area_mu"] == pytest.approx(alert["area_ha"] * 15)
        assert pd.Timestamp(alert["since"]) >= pd.Timestamp(mine["onset"].iloc[0])  # not before the onset
        assert alert["evidence"]["deficit"] > 0.1 and alert["message_key"] == "monitoring.alert.weak_patch"


def test_whole_plot_decline_found_by_peer_and_seasonal(monitoring_result, truth):
    patches, notes = truth
    alerts = monitoring_result.alerts
    signals = set(alerts.loc[alerts["plot_id"] == notes["whole_plot_decline"], "signal"])
    assert signals == {"peer", "seasonal"}
    onset = patches.loc[patches["kind"] == "whole_plot_decline", "onset"].iloc[0]
    seasonal = alerts.query("signal == 'seasonal'").iloc[0]
    assert seasonal["evidence"]["seasonal_z"] < -1.5
    assert pd.Timestamp(seasonal["since"]) >= pd.Timestamp(onset)


def test_healthy_plots_raise_no_alert(monitoring_result, truth):
    _, notes = truth
    planted = set(notes["poor_patch_plots"]) | {notes["whole_plot_decline"]}
    assert set(monitoring_result.alerts["plot_id"]) == planted
    # The haze date over CT02 (missed by SCL): one low date, flagged as a dip, no alert.
    ds = monitoring_result.series
    haze = ds.sel(plot=notes["haze_plot"]).sel(time=notes["haze_date"], method="nearest")
    assert float(haze["ndvi_median"]) < 0.55 and bool(haze["suspect_dip"])


def test_one_cloudy_date_alone_raises_no_alert():
    signal = np.array([[False, True, False, False], [True, True, False, False], [True, False, True, False]])
    usable = np.array([[True, True, True, True], [True, True, True, True], [True, False, True, True]])
    run, start, persistent = anomalies.persistence(signal, usable, 2)
    assert not persistent[0].any()  # a single low date
    assert persistent[1].tolist() == [False, True, False, False]
    assert persistent[2].tolist() == [False, False, True, False]  # unusable date neither breaks nor counts
    assert start[2, 2] == 0 and run[2, 2] == 2


def test_robust_z_and_weak_patches():
    rng = np.random.default_rng(1)
    values = 0.7 + 0.01 * rng.standard_normal((30, 30))
    values[5:10, 5:10] -= 0.2  # 25 px patch
    values[20, 20] -= 0.2  # single pixel: below the 9 px minimum
    mask = np.ones_like(values, bool)
    weak = anomalies.weak_patches(values, mask, -1.5, 9)
    assert weak[5:10, 5:10].all() and not weak[20, 20] and weak.sum() == 25
    z = anomalies.robust_zscore(values, mask)
    assert np.median(z) == pytest.approx(0, abs=1e-9)


def test_percentile_and_kmeans_zones():
    values = np.tile(np.linspace(0.5, 0.8, 20), (10, 1))
    mask = np.ones_like(values, bool)
    classes = anomalies.percentile_zones(values, mask)
    assert set(np.unique(classes)) == {0, 1, 2} and classes[0, 0] == 0 and classes[0, -1] == 2
    stack = np.stack([values, values * 1.1])
    zones = anomalies.kmeans_zones(stack, mask, k=3)
    assert zones[0, 0] == 0 and zones[0, -1] == 2  # numbered from the weakest


def test_peer_zscore_with_floor():
    values = np.array([[0.70], [0.71], [0.69], [0.70], [0.55], [0.30]])
    groups = np.array(["a", "a", "a", "a", "a", "b"])
    z = anomalies.peer_zscore(values, groups, np.ones_like(values, bool), min_peers=4, min_sigma=0.03)
    assert z[4, 0] == pytest.approx((0.55 - 0.70) / 0.03)
    assert np.isnan(z[5, 0])  # a group of one is no peer group


def test_exports_geopackage_geojson_and_cog(tmp_path, monitoring_result):
    import geopandas as gpd

    zones = monitoring_result.zones
    anomalies.write_zones(zones, tmp_path / "z.gpkg")
    anomalies.write_zones(zones, tmp_path / "z.geojson")
    back = gpd.read_file(tmp_path / "z.gpkg")
    assert len(back) == len(zones) and {"plot_id", "area_ha", "area_mu"} <= set(back.columns)
    assert gpd.read_file(tmp_path / "z.geojson").crs.to_epsg() == 4326
    values = np.array([[0.61234, np.nan], [-0.2, 0.9]], np.float32)
    path = anomalies.write_index_cog(
        values, rasterio.transform.from_origin(445000, 2841000, 10, 10), "EPSG:32650", tmp_path / "ndvi.tif"
    )
    with rasterio.open(path) as src:
        assert src.dtypes[0] == "int16" and src.compression.name.lower() == "deflate"
        raw = src.read(1)
        assert raw[0, 0] == 6123 and raw[0, 1] == src.nodata
        assert src.scales[0] == pytest.approx(1e-4)
    with pytest.raises(Exception, match="use .gpkg or .geojson"):
        anomalies.write_zones(zones, tmp_path / "z.shp")


def test_mask_to_polygons_area():
    mask = np.zeros((10, 10), bool)
    mask[2:5, 2:6] = True
    frame = anomalies.mask_to_polygons(mask, rasterio.transform.from_origin(0, 100, 10, 10), "EPSG:32650")
    assert frame["area_ha"].sum() == pytest.approx(0.12) and frame["area_mu"].sum() == pytest.approx(1.8)
    assert isinstance(frame.geometry.iloc[0], shapely.Polygon)
