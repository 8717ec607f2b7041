"""Extension pages: risk map (offline COG), plot table, export downloads, district accounting."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

from orchard.errors import InputError  # noqa: E402

PAGES = APP / "pages"
EXTENSION = {"user_id": "extension_county", "display_name": "县农技推广站", "role": "extension"}
ADMIN = {"user_id": "admin", "display_name": "Administrator", "role": "admin"}
GROWER = {"user_id": "grower_li", "display_name": "李明", "role": "grower"}
DISTRICT = "长汀 Changting (Fujian)"
#: Colour table of the classes (pests.riskmap.LEVEL_COLOURS).
COLOURS = {1: (26, 152, 80, 255), 2: (166, 217, 106, 255), 3: (254, 224, 139, 255), 4: (252, 141, 89, 255),
           5: (215, 48, 39, 255)}
BOUNDS = (116.44, 25.66, 116.48, 25.70)  # lon/lat around the sample plots


def write_class_cog(path: Path, classes: np.ndarray, crs="EPSG:4490", bounds=BOUNDS) -> None:
    import rasterio
    from rasterio.transform import from_bounds

    height, width = classes.shape
    with rasterio.open(path, "w", driver="GTiff", height=height, width=width, count=1, dtype="uint8", crs=crs,
                       transform=from_bounds(*bounds, width, height), nodata=255, tiled=True, blockxsize=16,
                       blockysize=16) as dst:
        dst.write(classes, 1)
        dst.write_colormap(1, {0: (0, 0, 0, 0), 255: (0, 0, 0, 0), **COLOURS})


def fake_export(root: Path, week="2016-W28", plots=("CT01", "CT02")) -> Path:
    """A small export folder in the format of exports.riskmap: class COGs per horizon, plots.csv,
    a PNG and the manifest."""
    folder = root / f"changting-fujian_{week}"
    folder.mkdir(parents=True)
    classes = np.tile(np.repeat(np.arange(1, 6, dtype=np.uint8), 4), (20, 1))  # 5 vertical bands of classes
    classes[:2, :] = 255  # no data along the north edge
    write_class_cog(folder / "black_spot.tif", classes)
    write_class_cog(folder / "black_spot_1m.tif", np.full((20, 20), 5, np.uint8))
    (folder / "black_spot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    rows = "".join(f"{p},{i + 3},0.{i + 5},{5},0.9\n" for i, p in enumerate(plots))
    (folder / "plots.csv").write_text("plot_id,black_spot_15d_level,black_spot_15d_prob,black_spot_1m_level,"
                                      "black_spot_1m_prob\n" + rows, encoding="utf-8-sig")
    manifest = {
        "district": DISTRICT, "week": week, "issue_date": "2016-07-11",
        "crs": {"wkt": "GEOGCRS[...]", "epsg": 4490}, "bounds": list(BOUNDS),
        "models": {"pests.outlook": "0.1.0"}, "parameter_sets": {"black_spot": "black_spot@9922779760ce"},
        "weather_sources": {"stations": [{"station_id": "58911"}]}, "weather_text": "58911 Changting",
        "files": [{"path": "black_spot.tif", "kind": "class_cog", "pest": "black_spot", "horizon": "15d"},
                  {"path": "black_spot_1m.tif", "kind": "class_cog", "pest": "black_spot", "horizon": "1m"},
                  {"path": "black_spot.png", "kind": "map_png", "pest": "black_spot"},
                  {"path": "plots.csv", "kind": "plots_csv", "pest": None},
                  {"path": "../../outside.txt", "kind": "plots_csv", "pest": None}]}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def home(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return sample_home


@pytest.fixture
def export_home(sample_home_copy):
    return fake_export(sd.riskmap_root())


def page(name, user, lang="en"):
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    at.session_state["user"] = user
    at.session_state["lang"] = lang
    return at


# ----------------------------------------------------------------------------------------------------------
# Pure functions
# ----------------------------------------------------------------------------------------------------------
def test_weeks():
    assert sd.parse_week("2016w28") == "2016-W28"
    assert sd.week_of(pd.Timestamp("2016-07-15").date()) == "2016-W28"
    assert str(sd.week_monday("2016-W28")) == "2016-07-11"
    with pytest.raises(InputError, match="is not an ISO week; write it as YYYY-Www"):
        sd.parse_week("July")
    with pytest.raises(InputError, match="2015 has no week 54"):
        sd.parse_week("2015-W54")


def test_exports_are_listed_and_broken_ones_named(tmp_path):
    folder = fake_export(tmp_path)
    (tmp_path / ".changting_2016-W29.tmp").mkdir()
    (tmp_path / ".changting_2016-W29.tmp" / "manifest.json").write_text("{}", encoding="utf-8")
    broken = tmp_path / "changting-fujian_2016-W27"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    exports = sd.list_exports(tmp_path)
    assert [e["week"] for e in exports] == ["2016-W28", ""]  # the hidden folder being written is skipped
    assert "manifest.json: not readable JSON" in exports[1]["error"]
    manifest = exports[0]
    assert [f["kind"] for f in manifest["files"]] == ["cog", "cog", "png", "csv"]  # ../ path dropped
    assert sd.export_pests(manifest) == ["black_spot"] and sd.export_horizons(manifest) == ["15d", "1m"]
    assert sd.export_file(manifest, "cog", "black_spot", "1m") == (folder / "black_spot_1m.tif").resolve()
    assert sd.export_file(manifest, "gpkg") is None
    assert sd.manifest_text(manifest["crs"]) == "EPSG:4490"
    with pytest.raises(InputError, match="no manifest.json; the export is incomplete"):
        sd.read_manifest(tmp_path)
    assert sd.list_exports(tmp_path / "nothing") == []


def test_class_overlay_colours_bounds_and_nodata(tmp_path):
    import base64

    from PIL import Image

    folder = fake_export(tmp_path)
    image = sd.class_overlay(folder / "black_spot.tif")
    west, south, east, north = image["bounds"]
    assert west == pytest.approx(116.44) and north == pytest.approx(25.70)
    assert east == pytest.approx(116.48, abs=0.003) and south == pytest.approx(25.66, abs=0.003)
    assert image["colours"][5] == list(COLOURS[5]) and image["counts"] == {k: 72 for k in range(1, 6)}
    png = Image.open(io.BytesIO(base64.b64decode(image["image"].split(",", 1)[1])))
    rgba = np.asarray(png)
    assert (rgba[0, :, 3] == 0).all()  # the no-data edge is transparent
    middle = rgba[rgba.shape[0] // 2]
    assert tuple(middle[1][:3]) == COLOURS[1][:3] and tuple(middle[-2][:3]) == COLOURS[5][:3]  # west→east 1…5

    utm = tmp_path / "utm.tif"  # a projected raster comes back in lon/lat
    write_class_cog(utm, np.full((10, 10), 3, np.uint8), crs="EPSG:32650",
                    bounds=(445000.0, 2838000.0, 446000.0, 2839000.0))
    lonlat = sd.class_overlay(utm)["bounds"]
    assert 116.4 < lonlat[0] < lonlat[2] < 116.5 and 25.6 < lonlat[1] < lonlat[3] < 25.7

    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError, match="not a readable GeoTIFF"):
        sd.class_overlay(bad)


def test_plot_risk_zip_and_csv(tmp_path):
    folder = fake_export(tmp_path)
    manifest = sd.read_manifest(folder)
    risk = sd.plot_risk_classes(manifest, "15d")
    assert risk.to_dict("list") == {"plot_id": ["CT01", "CT02"], "black_spot": [3, 4]}
    assert sd.plot_risk_classes(manifest, "1m")["black_spot"].tolist() == [5, 5]
    with zipfile.ZipFile(io.BytesIO(sd.zip_folder(folder))) as archive:
        assert sorted(archive.namelist()) == ["black_spot.png", "black_spot.tif", "black_spot_1m.tif",
                                              "manifest.json", "plots.csv"]
    data = sd.safe_csv(pd.DataFrame({"grower": ["=cmd()", "grower 1"], "tfi": [-1.5, 2.0]}))
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    text = data.decode("utf-8-sig")
    assert "'=cmd()" in text and "-1.5" in text  # formulas neutralised, negative numbers untouched


def test_plots_table_has_no_owner_and_converts_area():
    plots = [{"plot_id": "CT01", "name": "a", "district": DISTRICT, "cultivar": "valencia", "area_ha": 1.5,
              "owner_id": None}]
    recs = [{"plot_id": "CT01", "severity": 2}, {"plot_id": "CT01", "severity": 4}]
    table = sd.plots_table(plots, recs, pd.DataFrame({"plot_id": ["CT01"], "canker": [3]}))
    row = table.iloc[0]
    assert "owner_id" not in table.columns and row["severity"] == 4 and row["canker"] == 3
    assert row["area_mu"] == 22.5 and row["area_ha"] == 1.5  # 1 ha = 15 mu


# ----------------------------------------------------------------------------------------------------------
# Pages
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["extension_riskmap", "extension_plots", "extension_exports",
                                  "extension_accounting"])
def test_a_grower_is_refused_in_one_sentence(home, name):
    at = page(name, GROWER).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")]
    assert len(at.dataframe) == 0 and len(at.get("deck_gl_json_chart")) == 0


def test_pages_without_exports_say_so(home):
    at = page("extension_riskmap", EXTENSION).run()
    assert not at.exception
    assert at.info[0].value == t("staff.map.none_no_run", "en")  # the plain sample stores no weekly run
    at = page("extension_exports", EXTENSION).run()
    assert not at.exception and at.info[0].value == t("staff.exp.none", "en")


def test_risk_map_is_offline_with_plots_and_a_translated_legend(export_home):
    at = page("extension_riskmap", EXTENSION, "zh-CN").run()
    assert not at.exception and not at.error
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert [layer["@@type"] for layer in spec["layers"]] == ["BitmapLayer", "GeoJsonLayer"]
    assert not spec.get("mapProvider") and not spec.get("mapStyle")  # no tiles fetched
    bitmap, outlines = spec["layers"]
    assert bitmap["image"].startswith("data:image/png;base64,")
    assert bitmap["bounds"][0] == pytest.approx(116.44)
    features = outlines["data"]["features"]
    assert len(features) == 30
    ct02 = next(f for f in features if f["properties"]["plot_id"] == "CT02")
    assert ct02["properties"]["level_name"] == "4级 偏重"
    legend = at.dataframe[0].value
    names = [t(f"staff.level.{k}", "zh-CN") for k in range(1, 6)]
    assert list(legend[t("staff.map.col.name", "zh-CN")]) == names
    assert list(legend[t("staff.map.col.share", "zh-CN")]) == [20.0] * 5

    at.selectbox(key="staff_map_horizon").set_value("1m").run()
    legend = at.dataframe[0].value
    assert list(legend[t("staff.map.col.share", "zh-CN")]) == [0.0, 0.0, 0.0, 0.0, 100.0]


def test_damaged_raster_is_one_sentence(export_home):
    (export_home / "black_spot.tif").write_bytes(b"II*\x00 not a tiff")
    at = page("extension_riskmap", ADMIN).run()
    assert not at.exception
    assert len(at.error) == 1 and "not a readable GeoTIFF" in at.error[0].value


def test_plot_table_has_no_owner_names_and_the_week_risk(export_home):
    at = page("extension_plots", EXTENSION).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == 30
    assert t("col.owner", "en") not in table.columns
    flat = table.astype(str).to_numpy().ravel().tolist()
    assert not any(owner in cell for cell in flat for owner in ("grower_li", "grower_wang", "grower_chen"))
    # issue #18: the plots' names point to families (李家湾1号地 …): the table shows pseudonymous labels
    assert not any(family in cell for cell in flat for family in ("李家", "王家", "陈家"))
    names = table[t("staff.plots.col.name", "en")]
    assert names.str.fullmatch(r"P-[A-Z2-7]{8}").all() and names.is_unique
    risk = table.set_index(t("staff.plots.col.plot_id", "en"))[t("staff.plots.col.risk", "en",
                                                                 pest="Citrus black spot")]
    assert risk["CT01"] == 3 and risk["CT02"] == 4 and pd.isna(risk["CT03"])
    assert table[t("staff.plots.col.area_mu", "en")].iloc[0] == pytest.approx(
        table[t("staff.plots.col.area_ha", "en")].iloc[0] * 15, abs=0.1)


def test_downloads_list_every_file_and_the_zip(export_home):
    at = page("extension_exports", EXTENSION).run()
    assert not at.exception and not at.error
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) == 5  # 2 class rasters, PNG, CSV, zip
    kind = t("staff.exp.kind.cog", "en")
    assert labels[0] == t("staff.exp.file_pest_h", "en", kind=kind, pest="Citrus black spot",
                          name="black_spot.tif", horizon=t("staff.horizon.15d", "en"))
    assert labels[-1].startswith("Download every file (ZIP")
    (export_home / "black_spot.png").unlink()
    at = page("extension_exports", EXTENSION).run()
    assert not at.exception
    assert [w.value for w in at.warning] == [t("staff.exp.missing", "en", name="black_spot.png")]


@pytest.fixture
def sprayed(sample_home_copy):
    """Two recorded sprays in 2016 on plots of two growers."""
    from orchard import config, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        for plot_id, day, kg in (("CT01", "2016-05-01", 3.0), ("CT02", "2016-06-01", 2.0)):
            store.add_application(db, "agronomist_zhao", plot_id, product_id="mancozeb_80wp", applied_on=day,
                                  amount=kg, unit="kg", target="black_spot")


def test_district_account_for_extension_uses_pseudonyms(sprayed):
    at = page("extension_accounting", EXTENSION).run()
    assert not at.exception and not at.error and not at.warning
    table = at.dataframe[0].value
    assert list(table[t("staff.acc.col.district", "en")]) == [DISTRICT]
    assert table[t("staff.acc.col.n_applications", "en")].iloc[0] == 2
    assert 0 < table[t("staff.acc.col.tfi", "en")].iloc[0]
    assert 0 < table[t("staff.acc.col.reduction_tfi_pct", "en")].iloc[0] < 100
    assert len(at.get("download_button")) == 1

    at.selectbox(key="staff_acc_by").set_value("grower").run()
    growers = list(at.dataframe[0].value[t("staff.acc.col.grower", "en")])
    assert growers == ["grower 1", "grower 2", "grower 3"]
    assert t("staff.acc.pseudonyms", "en") in [c.value for c in at.caption]

    from orchard import config, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        table, n = sd.season_account_for(db, "admin", 2016, by="grower")
        assert set(table["grower"]) == {"grower_li", "grower_wang", "grower_chen"} and n == 2
        with pytest.raises(InputError, match="no plots in district 'nowhere'"):
            sd.season_account_for(db, "extension_county", 2016, district="nowhere")
        anonymous, _ = sd.season_account_for(db, "extension_county", 2016, by="grower")
    csv = sd.safe_csv(anonymous).decode("utf-8-sig")
    assert "grower_li" not in csv and "grower 1" in csv


def test_no_applications_warns_that_zero_is_not_a_reduction(home):
    at = page("extension_accounting", ADMIN).run()
    assert not at.exception
    assert "not a measured reduction" in at.warning[0].value


def test_real_export_made_from_the_page_is_listed_and_mapped(advised_copy):  # the plot table reads the run
    pytest.importorskip("exports.riskmap")
    at = page("extension_riskmap", EXTENSION).run()
    at.multiselect(key="staff_map_pests").set_value(["black_spot"])
    at.button(key="staff_map_make").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    folder = "changting-fujian_2016-W28"
    assert at.success[0].value == t("staff.map.made", "en", week="2016-W28", folder=folder)
    [manifest] = sd.list_exports()
    assert manifest["district"] == DISTRICT and sd.export_pests(manifest) == ["black_spot"]
    assert {"cog", "probability", "png", "pdf", "gpkg", "geojson", "kml", "csv"} <= {
        f["kind"] for f in manifest["files"]}
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    west, south, east, north = spec["layers"][0]["bounds"]
    assert 116.3 < west < east < 116.6 and 25.5 < south < north < 25.8
    risk = sd.plot_risk_classes(manifest, "15d")
    assert len(risk) == 30 and risk["black_spot"].between(1, 5).all()
    # making the same week again without "replace" is one sentence, and the old export stays
    at.button(key="staff_map_make").click().run()
    assert not at.exception and "already exists" in at.error[0].value
    assert len(sd.list_exports()) == 1


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_empty_risk_map_page_says_what_to_do_in_the_app(advised_copy, lang):
    """No server path and no command line (issue #19, finding 10): the officer is sent to the page's own
    export, and told the day of the latest weekly advice it starts on."""
    pytest.importorskip("exports.riskmap")
    at = page("extension_riskmap", EXTENSION, lang).run()
    assert not at.exception and not at.error
    [info] = at.info
    day = "2016年7月15日" if lang == "zh-CN" else "15 Jul 2016"
    assert info.value == t("staff.map.none", lang, date=day)
    assert "orchard " not in info.value and str(advised_copy) not in info.value and "/" not in info.value
