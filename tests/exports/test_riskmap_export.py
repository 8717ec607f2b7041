"""Weekly risk-map exports (exports/riskmap.py, ``orchard export-riskmap``) on the sample district:
COG layout, CRS and values, plot vectors against the CSV, PNG/PDF maps with the CJK font, atomic folders
and bad input."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import xarray as xr
from rasterio.windows import Window

from orchard.errors import InputError, OrchardError, StorageError
from orchard.sample import SAMPLE_DISTRICT
from exports.riskmap import cjk_font, district_slug, export_riskmap

DEM = "sample_data/dem/changting_youwuzhen_dem30m.tif"  # as in conftest.py
WEEK = "2016-W28"  # the week of conftest.py's stored run (2016-07-15)

LEVEL_RGB = {1: (26, 152, 80), 2: (166, 217, 106), 3: (254, 224, 139), 4: (252, 141, 89), 5: (215, 48, 39)}


# ----------------------------------------------------------------------------------------------------------
# GDAL's COG layout check (validate_cloud_optimized_geotiff.py, full check), read through rasterio
# ----------------------------------------------------------------------------------------------------------
def cog_layout_errors(path) -> list[str]:
    """The errors GDAL's validate_cloud_optimized_geotiff.py would report (its checks, re-implemented)."""
    path = str(path)
    errors = []
    raw = Path(path).read_bytes()
    with rasterio.open(path) as src:
        if src.driver != "GTiff":
            return ["not a GeoTIFF"]
        if any(f.endswith(".ovr") for f in src.files):
            errors.append("overviews in an external .ovr file")
        n_ovr = len(src.overviews(1))
        block_h, block_w = src.block_shapes[0]
        if src.width > 512 or src.height > 512:
            if block_w == src.width and block_w > 1024:
                errors.append("larger than 512 px but not tiled")
            if n_ovr == 0:
                errors.append("larger than 512 px but no overviews")

        def item(name, ovr=None):
            value = src.get_tag_item(name, "TIFF", bidx=1, ovr=ovr)
            return int(value) if value is not None else None

        bigtiff = raw[:4] in (b"II+\x00", b"MM\x00+")
        expected = 16 if bigtiff else 8
        pattern = f"GDAL_STRUCTURAL_METADATA_SIZE={0:06d} bytes\n"
        ghost = raw[expected : expected + len(pattern)].decode("latin1")
        layout = ""
        if ghost.startswith("GDAL_STRUCTURAL_METADATA_SIZE="):
            size = int(ghost[len("GDAL_STRUCTURAL_METADATA_SIZE=") :][:6])
            layout = raw[expected + len(pattern) : expected + len(pattern) + size].decode("latin1")
            if "KNOWN_INCOMPATIBLE_EDITION=YES" in layout:
                errors.append("KNOWN_INCOMPATIBLE_EDITION=YES")
            expected += len(pattern) + size
            expected += expected % 2
        ifds = [item("IFD_OFFSET")]
        if ifds[0] != expected:
            errors.append(f"main IFD at {ifds[0]}, not {expected}")
        for i in range(n_ovr):
            ifds.append(item("IFD_OFFSET", i))
            if ifds[-1] < ifds[-2]:
                errors.append(f"IFD of overview {i} before the previous one")
        data = [item("BLOCK_OFFSET_0_0")] + [item("BLOCK_OFFSET_0_0", i) for i in range(n_ovr)]
        if data[-1] < ifds[-1]:
            errors.append("first block of the smallest image before its IFD")
        for i in range(len(data) - 2, 0, -1):
            if data[i] < data[i + 1]:
                errors.append(f"blocks of overview {i - 1} before those of overview {i}")
        if len(data) >= 2 and data[0] < data[1]:
            errors.append("main image blocks before the overviews'")
        # full check: row-major blocks, leader = block size, trailer = last 4 bytes repeated
        for ovr in [None] + list(range(n_ovr)):
            factor = 1 if ovr is None else src.overviews(1)[ovr]
            width, height = -(-src.width // factor), -(-src.height // factor)  # GDAL rounds overviews up
            last = 0
            for by in range(-(-height // block_h)):
                for bx in range(-(-width // block_w)):
                    offset, count = item(f"BLOCK_OFFSET_{bx}_{by}", ovr), item(f"BLOCK_SIZE_{bx}_{by}", ovr)
                    if "BLOCK_ORDER=ROW_MAJOR" in layout and offset < last:
                        errors.append(f"block ({bx}, {by}) of {ovr} out of row-major order")
                    if (
                        "BLOCK_LEADER=SIZE_AS_UINT4" in layout
                        and struct.unpack("<I", raw[offset - 4 : offset])[0] != count
                    ):
                        errors.append(f"block ({bx}, {by}) of {ovr}: leader is not its size")
                    if (
                        "BLOCK_TRAILER=LAST_4_BYTES_REPEATED" in layout
                        and count >= 4
                        and raw[offset + count - 4 : offset + count]
                        != raw[offset + count : offset + count + 4]
                    ):
                        errors.append(f"block ({bx}, {by}) of {ovr}: bad trailer")
                    last = offset
    return errors


# ----------------------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def station_weather(engine):
    from orchard import store
    from orchard import weather as ow

    with store.session_scope(engine) as session:
        stations = pd.DataFrame(store.list_stations(session))
        readings = store.read_weather(session, ["58911"], "daily", None, None)
    return ow.weather_from_long(readings, stations[stations.station_id == "58911"].assign(resolution="daily"))


# ----------------------------------------------------------------------------------------------------------
# The export folder
# ----------------------------------------------------------------------------------------------------------
def test_folder_manifest_and_progress(exported):
    folder, manifest, steps, _ = exported
    assert folder.name == "changting-fujian_2016-W28" == f"{district_slug(SAMPLE_DISTRICT)}_2016-W28"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary folder left
    for key in (
        "district",
        "week",
        "issue_date",
        "crs",
        "bounds",
        "models",
        "parameter_sets",
        "weather_sources",
        "files",
    ):
        assert key in manifest
    assert manifest["district"] == SAMPLE_DISTRICT and manifest["week"] == "2016-W28"
    assert manifest["issue_date"] == "2016-07-11"  # Monday of the ISO week
    assert manifest["crs"]["epsg"] == 2415
    with rasterio.open(DEM) as src:
        np.testing.assert_allclose(manifest["bounds"], tuple(src.bounds))
    assert set(manifest["parameter_sets"]) >= {
        "black_spot",
        "canker",
        "mites",
        "leaf_miner",
        "outlook",
        "riskmap",
        "weather",
    }
    assert manifest["weather_sources"]["stations"][0]["station_id"] == "58911"
    listed = {f["path"] for f in manifest["files"]}
    assert listed | {"manifest.json"} == {p.name for p in folder.iterdir()}
    for pest in ("black_spot", "canker", "mites", "leaf_miner"):
        assert {
            f"{pest}.tif",
            f"{pest}_1m.tif",
            f"{pest}_3m.tif",
            f"{pest}_probability.tif",
            f"{pest}.png",
            f"{pest}.pdf",
        } <= listed
    assert {"plots.gpkg", "plots.geojson", "plots.kml", "plots.csv"} <= listed
    assert all(set(f) >= {"path", "kind", "pest"} for f in manifest["files"])
    assert manifest["plots"]["count"] == 30
    fractions = [f for _, f in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_cogs_validate_and_keep_the_dem_grid(exported):
    folder, manifest, _, _ = exported
    with rasterio.open(DEM) as dem:
        crs, bounds, transform = dem.crs, dem.bounds, dem.transform
    for entry in manifest["files"]:
        if not entry["path"].endswith(".tif"):
            continue
        path = folder / entry["path"]
        assert cog_layout_errors(path) == [], path.name
        with rasterio.open(path) as src:
            assert src.crs == crs and src.bounds == bounds and src.transform == transform
            assert src.dtypes[0] == "uint8" and src.nodata == 255
            assert src.tags()["week"] == "2016-W28" and src.tags()["pest"] == entry["pest"]
            data = src.read()
            if entry["kind"] == "class_cog":
                assert src.count == 1
                colours = src.colormap(1)
                assert {k: colours[k][:3] for k in LEVEL_RGB} == LEVEL_RGB
                assert set(np.unique(data)) <= {1, 2, 3, 4, 5}
            else:
                assert src.count == 3 and data.max() <= 100
                assert src.descriptions[0].endswith("probability 15d [%]")


def test_class_band_equals_direct_classes(exported, station_weather):
    """Cells recomputed without the grid: station weather at the cell's 10 m elevation bin, the outlook."""
    from orchard import weather as ow
    from pests.outlook import outlook

    folder, *_ = exported
    cells = [(0, 0), (20, 110), (49, 63), (97, 126), (80, 5)]
    with rasterio.open(DEM) as src:
        z = np.array([float(src.read(1, window=Window(c, r, 1, 1))[0, 0]) for r, c in cells])
    plots = xr.Dataset(
        {
            "lat": ("plot", np.full(len(z), 25.68)),
            "lon": ("plot", np.full(len(z), 116.46)),
            "elevation_m": ("plot", np.round(z / 10.0) * 10.0),
            "station_id": ("plot", ["58911"] * len(z)),
        },
        coords={"plot": np.arange(len(z))},
    )
    direct = outlook(
        None, ow.weather_for_plots(station_weather, plots, lapse_rate_c_per_100m=0.6), "2016-07-11"
    )
    for pest in ("black_spot", "mites"):
        for horizon, name in (("15d", f"{pest}.tif"), ("1m", f"{pest}_1m.tif"), ("3m", f"{pest}_3m.tif")):
            with rasterio.open(folder / name) as src:
                got = [int(src.read(1, window=Window(c, r, 1, 1))[0, 0]) for r, c in cells]
            assert got == direct["level"].sel(pest=pest, horizon=horizon).values.tolist(), (pest, horizon)
        with rasterio.open(folder / f"{pest}_probability.tif") as src:
            got = np.array([src.read(window=Window(c, r, 1, 1))[:, 0, 0] for r, c in cells])
        expected = np.rint(direct["probability"].sel(pest=pest).transpose("plot", "horizon").values * 100)
        np.testing.assert_array_equal(got, expected)


def test_vectors_carry_the_csv_attributes(exported):
    folder, *_ = exported
    csv = pd.read_csv(folder / "plots.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(csv) == 30 and csv.columns[0] == "plot_id"
    assert csv["plot_id"].tolist() == sorted(csv["plot_id"])

    def same(frame, name):
        frame = frame.drop(columns="geometry").astype(str).set_index("plot_id").loc[csv["plot_id"]]
        expected = csv.set_index("plot_id")[frame.columns]
        for column in frame.columns:
            a, b = frame[column].tolist(), expected[column].tolist()
            try:
                np.testing.assert_allclose(
                    np.asarray(a, float), np.asarray(b, float), rtol=1e-9, err_msg=name
                )
            except ValueError:
                assert a == b, (name, column)

    gpkg = pyogrio.read_dataframe(folder / "plots.gpkg")
    geojson = pyogrio.read_dataframe(folder / "plots.geojson")
    assert list(gpkg.columns[:-1]) == list(csv.columns) == list(geojson.columns[:-1])
    assert gpkg.crs.to_epsg() == 4326 and geojson.crs.to_epsg() == 4326
    same(gpkg, "gpkg")
    same(geojson, "geojson")
    kml = pyogrio.read_dataframe(folder / "plots.kml").rename(columns={"Name": "name"})
    assert set(csv.columns) <= set(kml.columns)
    same(kml[list(csv.columns) + ["geometry"]], "kml")
    assert "<styleUrl>#level" in (folder / "plots.kml").read_text(encoding="utf-8")
    # Chinese survives every format
    first = csv["plot_id"].iloc[0]
    assert csv["description"].iloc[0] == gpkg.set_index("plot_id").loc[first, "description"]
    # issue #18: plots carry pseudonymous labels, never their names (李家湾1号地 … point to families)
    sample_plots = Path(__file__).resolve().parents[2] / "sample_data" / "plots.geojson"
    sample_names = {f["properties"]["name"] for f in json.loads(sample_plots.read_text("utf-8"))["features"]}
    assert all(re.fullmatch(r"P-[A-Z2-7]{8}", n) for n in csv["name"]) and csv["name"].is_unique
    assert not set(csv["name"]) & sample_names and not set(kml["name"]) & sample_names
    assert "轻" in "".join(csv["description"]) or "中等" in "".join(csv["description"])


def test_plot_cells_are_the_grid_cells_it_touches(exported):
    """``cells`` counts the grid cells a plot touches (the levels are the run's: test_riskmap_run_numbers)."""
    from rasterio.features import geometry_mask

    folder, *_ = exported
    plots = pyogrio.read_dataframe(folder / "plots.gpkg")
    with rasterio.open(folder / "mites.tif") as src:
        frame = plots.to_crs(src.crs)
        level = src.read(1)
        for _, row in frame.iterrows():
            inside = ~geometry_mask([row.geometry], level.shape, src.transform, all_touched=True)
            assert int(inside.sum()) == int(row["cells"]), row["plot_id"]


def test_png_has_the_legend_and_chinese_names(exported):
    from matplotlib import font_manager
    from PIL import Image

    folder, _, _, caught = exported
    name = cjk_font()
    path = Path(font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False))
    assert path.exists() and "CJK" in path.name or "wqy" in path.name.lower()
    assert not [m for m in caught if "missing from font" in m]  # every Chinese glyph was in the font
    image = Image.open(folder / "mites.png")
    assert image.width > 1000 and image.height > 400
    assert "1 轻 light" in image.text["Description"] and "5 大发生 outbreak" in image.text["Description"]
    assert "柑橘红蜘蛛" in image.text["Title"] and "2016-W28" in image.text["Title"]
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(np.int64)
    packed = np.unique((pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2])
    assert len(packed) > 50 and pixels.std() > 20  # not blank
    assert {(r << 16) | (g << 8) | b for r, g, b in LEVEL_RGB.values()} <= set(
        packed.tolist()
    )  # legend swatches


def test_pdf_opens(exported):
    folder, *_ = exported
    raw = (folder / "canker.pdf").read_bytes()
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
    xref = int(raw[raw.rindex(b"startxref") + len(b"startxref") :].split()[0])
    assert raw[xref : xref + 4] == b"xref"  # the cross-reference table is where the trailer says
    assert raw.count(b"/Type /Page\n") + raw.count(b"/Type /Page ") + raw.count(b"/Type /Page>") >= 1
    assert b"/Font" in raw and "柑橘溃疡病".encode("utf-16-be") in raw  # the title, with its Chinese name


# ----------------------------------------------------------------------------------------------------------
# The command, overwrite and atomic folders
# ----------------------------------------------------------------------------------------------------------
def test_cli_export_refuse_and_overwrite(run_home, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ORCHARD_HOME", str(run_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    args = ["export-riskmap", "--week", WEEK, "--dem", DEM, "--out", str(tmp_path), "--pests", "mites"]
    code, out, err = run_cli(args)
    assert code == 0, err
    folder = tmp_path / "changting-youwuzhen-dem30m_2016-W28"
    assert f"wrote {folder} (" in out and "30 plots" in out
    assert sorted(p.name for p in folder.glob("*.tif")) == [
        "mites.tif",
        "mites_1m.tif",
        "mites_3m.tif",
        "mites_probability.tif",
    ]
    (folder / "notes.txt").write_text("mine")
    code, _, err = run_cli(args)
    assert code == 1
    assert "the export folder already exists and holds files; pass --overwrite to replace it" in err
    assert (folder / "notes.txt").exists()
    code, _, err = run_cli(args + ["--overwrite"])
    assert code == 0, err
    assert not (folder / "notes.txt").exists() and (folder / "manifest.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no temporary or old folder left


def test_cli_export_goes_where_the_app_looks_by_default(run_home_copy, run_cli):
    code, out, err = run_cli(["export-riskmap", "--week", WEEK, "--dem", DEM, "--pests", "leaf_miner"])
    assert code == 0, err
    folder = run_home_copy / "exports" / "riskmaps" / "changting-youwuzhen-dem30m_2016-W28"
    assert (folder / "manifest.json").is_file() and (folder / "leaf_miner.tif").is_file()


def test_failure_half_way_leaves_nothing(engine, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("exports.riskmap.render_maps", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        export_riskmap(WEEK, DEM, tmp_path, engine=engine, pests=["canker"])
    assert list(tmp_path.iterdir()) == []

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("exports.riskmap.write_vectors", disk_full)
    with pytest.raises(StorageError, match="writing the export failed \\(No space left on device\\)"):
        export_riskmap(WEEK, DEM, tmp_path, engine=engine, pests=["canker"])
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------------------
# Bad input: one sentence each, nothing written
# ----------------------------------------------------------------------------------------------------------
def test_dem_without_crs(engine, tmp_path):
    with rasterio.open(DEM) as src:
        profile, data = src.profile, src.read(1)
    profile.update(crs=None)
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", **profile) as dst:
        dst.write(data, 1)
    out = tmp_path / "out"
    with pytest.raises(
        InputError, match="bare.tif: the DEM has no coordinate reference system; assign the one"
    ):
        export_riskmap(WEEK, bare, out, engine=engine)
    assert not out.exists()


def test_week_outside_the_weather_record(engine, tmp_path):
    with pytest.raises(
        InputError,
        match=r"week 2030-W01 \(issue date Monday 2029-12-31\) is outside the weather "
        r"record \(2010-01-01 to 2017-12-31, station 58911\); choose a week",
    ):
        export_riskmap("2030-W01", DEM, tmp_path, engine=engine)
    with pytest.raises(InputError, match="is not an ISO week"):
        export_riskmap("July", DEM, tmp_path, engine=engine)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_with_files_and_unwritable_folders(engine, tmp_path):
    folder = tmp_path / "changting-fujian_2016-W28"
    folder.mkdir()
    (folder / "other.txt").write_text("x")
    with pytest.raises(InputError, match="already exists and holds files; pass --overwrite"):
        export_riskmap(WEEK, DEM, tmp_path, engine=engine, district=SAMPLE_DISTRICT)
    assert [p.name for p in folder.iterdir()] == ["other.txt"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(InputError, match="file.txt: is a file, not a folder"):
        export_riskmap(WEEK, DEM, a_file, engine=engine)
    # /sys refuses new folders even to root
    with pytest.raises(
        InputError,
        match="/sys/orchard-riskmaps: cannot write there .*; choose a folder you may write to with --out",
    ):
        export_riskmap(WEEK, DEM, "/sys/orchard-riskmaps", engine=engine, pests=["mites"])


def test_unknown_district_and_missing_font(engine, tmp_path):
    with pytest.raises(
        InputError,
        match=r"no plot in the database belongs to district 'Nowhere' \(districts: "
        r"长汀 Changting \(Fujian\)\)",
    ):
        export_riskmap(WEEK, DEM, tmp_path, engine=engine, district="Nowhere")
    with pytest.raises(
        OrchardError, match=r"no Chinese \(CJK\) font is installed.*apt-get install fonts-noto-cjk"
    ):
        cjk_font(names=("No Such Font",), scan=False)
    assert district_slug("长汀").startswith("district-") and district_slug("长汀") != district_slug("上杭")


# ----------------------------------------------------------------------------------------------------------
# A larger grid in CGCS2000 degrees: batches of blocks, overviews
# ----------------------------------------------------------------------------------------------------------
def test_geographic_grid_in_block_batches_with_overviews(station_weather, tmp_path, monkeypatch):
    from pests.riskmap import risk_grid_run
    from exports.riskmap import write_rasters

    rows, cols = 700, 1100
    y, x = np.mgrid[0:rows, 0:cols]
    z = (300 + 250 * np.sin(x / 150.0) * np.cos(y / 110.0) + 0.05 * x).astype(np.float32)
    z[:40, :60] = -9999.0  # a nodata corner
    dem = tmp_path / "cgcs2000.tif"
    transform = rasterio.transform.from_origin(116.40, 25.72, 0.0002, 0.0002)
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs="EPSG:4490",
        transform=transform,
        nodata=-9999.0,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(z, 1)
    run = risk_grid_run(dem, station_weather, "2016-07-25", pests=["mites"], chunks=(256, 512))
    monkeypatch.setattr("exports.riskmap.MAX_BATCH_CELLS", 300_000)  # several batches of 1-2 blocks
    folder, work = tmp_path / "export", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    meta = {"week": "2016-W30", "issue_date": "2016-07-25", "district": "test"}
    entries = write_rasters(run, folder, work, meta)
    assert [e["path"] for e in entries] == [
        "mites.tif",
        "mites_1m.tif",
        "mites_3m.tif",
        "mites_probability.tif",
    ]
    expected = run.dataset["level"].sel(pest="mites").values
    with rasterio.open(folder / "mites_1m.tif") as src:
        assert src.crs.to_epsg() == 4490 and src.transform == transform
        assert len(src.overviews(1)) >= 1
        got = src.read(1)
    assert cog_layout_errors(folder / "mites_1m.tif") == []
    np.testing.assert_array_equal(got[40:, :], expected[1, 40:, :])
    assert (got[:40, :60] == 255).all() and (expected[:, :40, :60] == 0).all()
    assert len(np.unique(expected[1][expected[1] > 0])) >= 2


def test_dem_without_plots_exports_rasters_and_empty_layers(engine, tmp_path):
    """A DEM around the weather station, away from every plot: rasters and maps, empty vector layers."""
    dem = tmp_path / "station_hill.tif"
    y, x = np.mgrid[0:60, 0:80]
    z = (260 + 1.5 * x + np.hypot(x - 40, y - 30)).astype(np.float32)
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=80,
        height=60,
        count=1,
        dtype="float32",
        crs="EPSG:4490",
        transform=rasterio.transform.from_origin(116.31, 25.76, 0.0003, 0.0003),
    ) as dst:
        dst.write(z, 1)
    folder = export_riskmap("2016-W22", dem, tmp_path / "out", engine=engine, pests=["canker"])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert folder.name == "station-hill_2016-W22" and manifest["issue_date"] == "2016-05-30"
    assert manifest["plots"]["count"] == 0 and manifest["crs"]["epsg"] == 4490
    csv = pd.read_csv(folder / "plots.csv", encoding="utf-8-sig")
    assert len(csv) == 0 and list(csv.columns[:3]) == ["plot_id", "name", "district"]
    for ext in ("gpkg", "geojson", "kml"):
        assert len(pyogrio.read_dataframe(folder / f"plots.{ext}")) == 0
    with rasterio.open(folder / "canker.tif") as src:
        assert src.crs.to_epsg() == 4490 and set(np.unique(src.read(1))) <= {1, 2, 3, 4, 5}
    assert (folder / "canker.png").stat().st_size > 10_000


def test_cog_check_catches_a_plain_geotiff(tmp_path):
    """The layout check is not a rubber stamp: a tiled GeoTIFF with overviews added afterwards fails it."""
    from rasterio.enums import Resampling

    path = tmp_path / "plain.tif"
    data = (np.arange(1100 * 700) % 5 + 1).astype(np.uint8).reshape(700, 1100)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=1100,
        height=700,
        count=1,
        dtype="uint8",
        crs="EPSG:4490",
        transform=rasterio.transform.from_origin(116.0, 26.0, 1e-4, 1e-4),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(data, 1)
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4], Resampling.nearest)
    errors = cog_layout_errors(path)
    assert any("before the overviews" in e or "IFD" in e for e in errors), errors


def test_weekly_risk_grid_for_the_app_matches_the_export(exported, engine):
    from exports.riskmap import weekly_risk_grid

    folder, *_ = exported
    ds = weekly_risk_grid(WEEK, DEM, engine=engine, pests=["mites"])
    assert ds.attrs["week"] == "2016-W28" and ds.attrs["issue_date"] == "2016-07-11"
    assert ds["level"].chunks is not None  # lazy until shown
    with rasterio.open(folder / "mites_3m.tif") as src:
        np.testing.assert_array_equal(ds["level"].sel(pest="mites", horizon="3m").values, src.read(1))
