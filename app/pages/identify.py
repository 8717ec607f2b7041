"""Identify page (拍照识病虫 / Identify a pest): a field photo in, the three most likely pests or diseases out
(or "uncertain"), and a button to save the photo to the image library for an agronomist to label.

Every upload is checked on the server before anything else reads it (``data.check_photo``: size first, then
the content must decode as JPEG, PNG or WebP): a wrong type, a corrupt file or a huge one gives one sentence,
never a traceback. Without a trained model the page says so in one sentence.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds the shared modules
import data  # noqa: E402
from i18n import error_text, t  # noqa: E402
from session import page_language, require_user, uploader_in_language  # noqa: E402

from orchard.errors import OrchardError  # noqa: E402

#: Roles that may upload photos (the image library records who added each).
UPLOADERS = ("grower", "agronomist", "admin")


def label_text(row: dict, lang: str) -> str:
    """The class name in the reader's language: the classifier's own, else the catalogue's, else the code."""
    name = row.get("name_zh") if lang == "zh-CN" else row.get("name_en")
    if name:
        return name
    code = str(row["label"]).strip().lower().replace("-", "_").replace(" ", "_")
    key = f"label.{code}"
    text = t(key, lang)
    return row["label"] if text == key else text


def show_result(result: dict, lang: str) -> None:
    if result["top"]:
        st.markdown(f"**{t('identify.result', lang)}**")
        for row in result["top"]:
            st.markdown("- " + t("identify.item", lang, label=label_text(row, lang),
                                 percent=round(100 * row["probability"])))
    if result["uncertain"]:
        st.warning(t("identify.uncertain", lang))
    else:
        st.caption(t("identify.caution", lang))


def main() -> None:
    lang = page_language()
    user = require_user(lang, UPLOADERS)
    st.title(t("identify.title", lang))
    st.markdown(t("identify.intro", lang, max=data.MAX_PHOTO_MB))
    # No ``type=`` filter: Streamlit would refuse another extension with an exception of its own; the page
    # checks every file itself (size, extension, content) and answers with one sentence.
    with st.container(key="photo_box"):
        uploader_in_language("photo_box", t("identify.choose", lang), lang)  # the limit: identify.intro
        upload = st.file_uploader(t("identify.upload", lang), key="photo", max_upload_size=data.MAX_PHOTO_MB)
    if upload is None:
        return
    if upload.size > data.MAX_PHOTO_BYTES:  # refused before reading it into memory
        st.error(t("identify.too_large", lang, mb=upload.size / 1024 / 1024, max=data.MAX_PHOTO_MB))
        return
    photo = upload.getvalue()
    problem = data.check_photo(upload.name, photo)
    if problem is not None:
        key, fields = problem
        st.error(t(key, lang, **fields))
        return
    st.image(photo, width=240)
    try:
        result = data.identify_photo(user["user_id"], photo)
    except (OrchardError, OSError, ValueError) as exc:  # no trained model, or the classifier refuses it
        st.info(t("identify.no_model", lang, error=error_text(exc, lang)))
        result = None
    if result is not None:
        show_result(result, lang)

    plots = data.my_plots(user["user_id"])
    options = [None] + [p["plot_id"] for p in plots]
    names = {p["plot_id"]: " ".join(filter(None, [p["plot_id"], p.get("name")])) for p in plots}
    requested = st.query_params.get("plot")
    plot_id = st.selectbox(t("identify.plot", lang), options, key="photo_plot",
                           index=options.index(requested) if requested in options else 0,
                           format_func=lambda pid: t("identify.no_plot", lang) if pid is None else names[pid])
    if st.button(t("identify.save", lang), type="primary", key="photo_save", width="stretch"):
        try:
            sample, duplicate = data.save_photo(user["user_id"], photo, plot_id=plot_id,
                                                original_name=upload.name, prediction=result)
        except OrchardError as exc:
            st.error(t("identify.not_saved", lang, error=error_text(exc, lang)))
            return
        st.success(t("identify.duplicate" if duplicate else "identify.saved", lang, sample=sample))


main()
