"""Extension page: download the weekly risk-map export bundle, file by file or as one zip.

Lists the exports under ``<ORCHARD_HOME>/exports/riskmaps`` (made by ``exports.riskmap.export_riskmap``
or the risk-map page): Cloud-Optimized GeoTIFF, GeoPackage, GeoJSON, KML, PNG and PDF maps, and the plot
table as CSV, each with a download button, plus a zip of the whole folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

from orchard.errors import OrchardError  # noqa: E402

ROLES = ("extension",)
HORIZONS = ("15d", "1m", "3m")
MIME = {"cog": "image/tiff", "probability": "image/tiff", "png": "image/png", "pdf": "application/pdf",
        "gpkg": "application/geopackage+sqlite3",
        "geojson": "application/geo+json", "kml": "application/vnd.google-earth.kml+xml", "csv": "text/csv"}
#: Largest single file offered for download through the page [bytes] (the zip has the same bound).
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


def export_label(manifest: dict, lang: str) -> str:
    if manifest.get("error"):
        return t("staff.exp.broken", lang, folder=Path(manifest["folder"]).name)
    return t("staff.exp.label", lang, week=manifest.get("week", ""), district=manifest.get("district") or "–",
             date=manifest.get("issue_date") or "")


def kind_order(item: dict) -> tuple:
    kind = item.get("kind")
    horizon = item.get("horizon")
    return (sd.FILE_KINDS.index(kind) if kind in sd.FILE_KINDS else len(sd.FILE_KINDS), str(item.get("pest")),
            HORIZONS.index(horizon) if horizon in HORIZONS else 0, str(item.get("path")))


def main() -> None:
    lang = session.page_language()
    session.require_user(lang, roles=ROLES)
    st.title(t("staff.exp.title", lang))
    exports = sd.list_exports()
    if not exports:
        st.info(t("staff.exp.none", lang))
        return
    index = st.selectbox(t("staff.exp.choose", lang), list(range(len(exports))), key="staff_exp_choose",
                         format_func=lambda i: export_label(exports[i], lang))
    manifest = exports[index]
    if manifest.get("error"):
        st.error(t("staff.error", lang, error=manifest["error"]))
        return
    st.caption(t("staff.exp.basis", lang, crs=sd.manifest_text(manifest.get("crs")),
                 sources=manifest.get("weather_text") or sd.manifest_text(manifest.get("weather_sources"))))
    folder = Path(manifest["folder"])
    files = sorted(manifest["files"], key=kind_order)
    total = sum(f["file"].stat().st_size for f in files if f["exists"])
    for i, item in enumerate(files):
        name = Path(item["path"]).name
        kind = item.get("kind", "other")
        kind_text = t(f"staff.exp.kind.{kind}", lang) if kind in MIME else kind
        pest = t(f"pest.{item['pest']}", lang) if item.get("pest") else ""
        if pest and item.get("horizon"):
            label = t("staff.exp.file_pest_h", lang, kind=kind_text, name=name, pest=pest,
                      horizon=t(f"staff.horizon.{item['horizon']}", lang))
        elif pest:
            label = t("staff.exp.file_pest", lang, kind=kind_text, name=name, pest=pest)
        else:
            label = t("staff.exp.file", lang, kind=kind_text, name=name)
        if not item["exists"]:
            st.warning(t("staff.exp.missing", lang, name=name))
            continue
        size = item["file"].stat().st_size
        if size > MAX_DOWNLOAD_BYTES:
            st.caption(t("staff.exp.too_big", lang, name=name, mb=size / 1024 ** 2))
            continue
        st.download_button(label, item["file"].read_bytes(), file_name=name,
                           mime=MIME.get(kind, "application/octet-stream"), key=f"staff_exp_file::{i}")
    if total <= MAX_DOWNLOAD_BYTES:
        try:
            data = sd.zip_folder(folder)
        except OSError as exc:
            st.error(t("staff.unexpected", lang, kind=type(exc).__name__))
            return
        st.download_button(t("staff.exp.zip", lang, mb=len(data) / 1024 ** 2), data,
                           file_name=f"riskmap_{manifest.get('week', folder.name)}.zip",
                           mime="application/zip",
                           type="primary", key="staff_exp_zip")
    else:
        st.caption(t("staff.exp.zip_too_big", lang, path=str(folder)))


try:
    main()
except OrchardError as _exc:  # a page shows one sentence, never a traceback
    st.error(t("staff.error", session.page_language(), error=sd.one_sentence(_exc)))
