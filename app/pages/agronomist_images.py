"""Agronomist page: review the image library's field photos, unverified first, and verify or relabel them.

Lists the samples the signed-in user may see (``pests.images.library.list_samples``, scoped in the data
layer) filtered by verification state, label and plot; shows thumbnails with the collector's label and the
classifier's prediction; one sample at a time is opened larger and confirmed or given another label
(``library.verify``), which puts it in the classifier's training set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app/ holds i18n.py, session.py, staff_data.py
import session  # noqa: E402
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

from orchard import config, store  # noqa: E402
from orchard.errors import OrchardError  # noqa: E402

ROLES = ("agronomist", "admin")
#: Thumbnails shown at once (the table lists every sample).
GRID_SIZE = 9
GRID_COLUMNS = 3
#: Message of the last verification, shown once after the page reruns.
FLASH_KEY = "staff_img_flash"


def label_text(code: str | None, lang: str) -> str:
    if not code:
        return ""
    from pests.images.labels import label_name

    return label_name(code, "zh" if lang == "zh-CN" else "en")


def sample_caption(sample: dict, lang: str) -> str:
    text = f"#{sample['sample_id']} · {label_text(sample['label'], lang)}"
    if sample.get("predicted_label"):
        probability = sample.get("predicted_probability")
        share = "–" if probability is None else f"{probability:.0%}"
        text += " · " + t("staff.img.predicted_short", lang, p=share,
                          label=label_text(sample["predicted_label"], lang))
    return text + (" ✓" if sample.get("verified") else "")


def sample_table(samples: list[dict], lang: str) -> pd.DataFrame:
    rows = [{"sample_id": s["sample_id"], "plot_id": s.get("plot_id") or "",
             "label": label_text(s["label"], lang), "label_source": s.get("label_source") or "",
             "predicted": label_text(s.get("predicted_label"), lang),
             "probability": None if s.get("predicted_probability") is None
             else round(float(s["predicted_probability"]), 2),
             "verified": bool(s.get("verified")), "verified_by": s.get("verified_by") or "",
             "taken": sd.photo_origin(s)["when"][1] or ""} for s in samples]  # taken, else uploaded
    frame = pd.DataFrame(rows)
    return frame.rename(columns={c: t(f"staff.img.col.{c}", lang) for c in frame.columns})


@st.cache_data(show_spinner=False, max_entries=256)
def thumbnail(path: str, modified: float, max_px: int) -> bytes:
    """Cached per file version (library files are content-addressed, so a path is one photo)."""
    return sd.thumbnail(path, max_px=max_px)


def show_thumbnail(container, library, sample: dict, lang: str, width: int | None = None) -> None:
    try:
        path = library.image_path(sample)
        data = thumbnail(str(path), path.stat().st_mtime, 640 if width else sd.THUMBNAIL_PX)
    except OrchardError as exc:
        container.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    container.image(data, caption=sample_caption(sample, lang), width=width or "stretch")


def review(engine, user: dict, library, samples: list[dict], lang: str) -> None:
    from pests.images.labels import LABELS, UNKNOWN

    st.subheader(t("staff.img.review", lang))
    by_id = {s["sample_id"]: s for s in samples}
    chosen = st.selectbox(t("staff.img.choose", lang), list(by_id), key="staff_img_sample",
                          format_func=lambda i: sample_caption(by_id[i], lang))
    sample = by_id[chosen]
    left, right = st.columns([3, 2])
    show_thumbnail(left, library, sample, lang, width=480)
    origin = sd.photo_origin(sample)  # a grower's photo: who uploaded it and when (no collector, no EXIF)
    (who_kind, who), (when_kind, when) = origin["who"], origin["when"]
    right.markdown(t("staff.img.details", lang, label=label_text(sample["label"], lang),
                     source=sample.get("label_source") or "–", plot=sample.get("plot_id") or "–",
                     who=t(f"staff.img.{who_kind}", lang, name=who or "–"),
                     when=t(f"staff.img.{when_kind}", lang, time=when or "–")))
    if sample.get("predicted_label"):
        probability = sample.get("predicted_probability")
        right.markdown(t("staff.img.predicted", lang, label=label_text(sample["predicted_label"], lang),
                         p="–" if probability is None else f"{probability:.0%}"))
    if sample.get("verified"):
        right.success(t("staff.img.already", lang, user=sample.get("verified_by") or
                        t("staff.img.expert", lang)))
    codes = [c for c in LABELS if c != UNKNOWN]
    default = next((c for c in (sample["label"], sample.get("predicted_label")) if c in codes), codes[0])
    label = right.selectbox(t("staff.img.label", lang), codes, index=codes.index(default),
                            format_func=lambda c: label_text(c, lang), key=f"staff_img_label::{chosen}")
    if right.button(t("staff.img.verify", lang), type="primary", key="staff_img_verify"):
        try:
            with store.session_scope(engine) as db:
                updated = library.verify(db, user["user_id"], chosen, label)
        except OrchardError as exc:
            right.error(t("staff.error", lang, error=sd.one_sentence(exc)))
            return
        # Shown after the rerun, which refreshes the list (a verified sample leaves the "unverified" view).
        st.session_state[FLASH_KEY] = t("staff.img.verified", lang, id=chosen,
                                        label=label_text(updated["label"], lang))
        st.rerun()


def main() -> None:
    lang = session.page_language()
    user = session.require_user(lang, roles=ROLES)
    st.title(t("staff.img.title", lang))
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    library = sd.image_library()
    if library is None:
        st.warning(t("staff.img.not_installed", lang))
        return
    from pests.images.labels import LABELS

    engine = session.engine_for(config.database_url())
    try:
        with store.session_scope(engine) as db:
            plots = [p["plot_id"] for p in store.list_plots(db, user["user_id"])]
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    columns = st.columns(3)
    state = columns[0].selectbox(t("staff.img.state", lang), ["unverified", "verified", "all"],
                                 format_func=lambda s: t(f"staff.img.state.{s}", lang), key="staff_img_state")
    def label_choice(code: str) -> str:
        return label_text(code, lang) if code else t("staff.img.any", lang)

    label = columns[1].selectbox(t("staff.img.filter_label", lang), [""] + list(LABELS),
                                 key="staff_img_filter", format_func=label_choice)
    plot_id = columns[2].selectbox(t("staff.img.filter_plot", lang), [""] + plots, key="staff_img_plot",
                                   format_func=lambda p: p or t("staff.img.any", lang))
    try:
        with store.session_scope(engine) as db:
            samples = sd.review_samples(db, user["user_id"], state=state, label=label, plot_id=plot_id)
    except OrchardError as exc:
        st.error(t("staff.error", lang, error=sd.one_sentence(exc)))
        return
    if not samples:
        st.info(t("staff.img.none", lang))
        return
    st.markdown(t("staff.img.count", lang, n=len(samples)))
    st.dataframe(sample_table(samples, lang), hide_index=True, width="stretch")
    grid = st.columns(GRID_COLUMNS)
    for i, sample in enumerate(samples[:GRID_SIZE]):
        show_thumbnail(grid[i % GRID_COLUMNS], library, sample, lang)
    if len(samples) > GRID_SIZE:
        st.caption(t("staff.img.more", lang, n=len(samples) - GRID_SIZE))
    review(engine, user, library, samples, lang)


main()
