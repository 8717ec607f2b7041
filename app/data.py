"""The pages' only way to data: every function takes the signed-in user's id and returns what they may see.

Access is decided by :mod:`orchard.store` (growers: their own plots, purchases, applications and advice;
agronomists and admins: all; extension: all plots without owners), so a plot id that came from the URL or a
widget is checked again here on every call. ``st.cache_data`` entries are shared by all sessions of the
server, so every cached function takes the user id (and the database URL) as arguments: one user's entry is
never returned to another. The stored results of a weekly run are cached for an hour (per user, plot and run),
lists for a minute, and writes clear the lists they change. No function here runs a growth, pest or monitoring
model: the weekly chain stores its results and the pages read them (a re-run is a job, see staff_data.py).
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import plot_view as pv
import streamlit as st
from session import engine_for

from orchard import config, store
from orchard.errors import OrchardError

#: Roles the store lets record each kind (plot data for growers and agronomists; purchases also for admins).
RECORDERS = {"application": ("grower", "agronomist"), "purchase": ("grower", "agronomist", "admin")}
#: Lists (plots, advice, records) are re-read after this long, so a weekly run or an import shows up [s].
LIST_TTL_S = 60
#: Stored results of a run are re-read after this long [s] (a run never changes under its id and creation).
MODEL_TTL_S = 3600
#: Severity from which advice counts as urgent on the grower's home page (1-5 scale of advice/).
URGENT_SEVERITY = 4
#: Field photos: largest upload [bytes] (as ``server.maxUploadSize`` in .streamlit/config.toml), accepted
#: formats (Pillow's names), file-name extensions and the largest image [pixels] decoded.
MAX_PHOTO_MB = 10
MAX_PHOTO_BYTES = MAX_PHOTO_MB * 1024 * 1024
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
PHOTO_TYPES = ("jpg", "jpeg", "png", "webp")
MAX_PHOTO_PIXELS = 40_000_000


def database_url() -> str:
    return config.database_url()


def _session(url: str):
    return store.session_scope(engine_for(url))


def today_in_china() -> date:
    return datetime.now(ZoneInfo(config.CHINA_TIMEZONE)).date()


# ----------------------------------------------------------------------------------------------------------
# Plots, users, weather
# ----------------------------------------------------------------------------------------------------------
def my_plots(user_id: str) -> list[dict]:
    """The plots ``user_id`` may see (growers: their own), ordered by id."""
    return _plots(database_url(), user_id)


@st.cache_data(ttl=LIST_TTL_S, max_entries=256, show_spinner=False)
def _plots(url: str, user_id: str) -> list[dict]:
    with _session(url) as session:
        return store.list_plots(session, user_id)


def plot(user_id: str, plot_id) -> dict:
    """One plot after the store's access check (never cached: an id from a URL is checked every time).

    Raises
    ------
    orchard.errors.AccessError
        A grower asking for a plot that is not theirs, another grower's or none at all (the same sentence),
        or an unknown user.
    orchard.errors.InputError
        No such plot (staff).
    """
    with _session(database_url()) as session:
        return store.get_plot(session, user_id, plot_id if isinstance(plot_id, str) else None)


def growers(user_id: str) -> dict[str, str]:
    """Growers the user may record purchases for: themselves for a grower, every grower for staff."""
    return _growers(database_url(), user_id)


@st.cache_data(ttl=LIST_TTL_S, max_entries=64, show_spinner=False)
def _growers(url: str, user_id: str) -> dict[str, str]:
    with _session(url) as session:
        users = store.list_users(session)
    me = next((u for u in users if u["user_id"] == user_id), None)
    if me is None:
        return {}
    if me["role"] == "grower":
        return {me["user_id"]: me["display_name"]}
    return {u["user_id"]: u["display_name"] for u in users if u["role"] == "grower"}


def latest_weather(user_id: str, on: date | None = None) -> dict[str, dict]:
    """The newest daily value of each variable at the stations of the user's plots; with ``on`` (a stored
    run's issue date) the newest on or before that day in China, so a past run's page shows the weather the
    run saw, not the last day of the record."""
    return _latest_weather(database_url(), user_id, on)


@st.cache_data(ttl=LIST_TTL_S, max_entries=64, show_spinner=False)
def _latest_weather(url: str, user_id: str, on: date | None = None) -> dict[str, dict]:
    before = None
    if on is not None:  # the end of the day ``on`` in China (daily values are stamped at local midnight)
        china = ZoneInfo(config.CHINA_TIMEZONE)
        before = datetime.combine(on + timedelta(days=1), datetime.min.time(), china)
    with _session(url) as session:
        plots = store.list_plots(session, user_id)
        stations = sorted({p["station_id"] for p in plots if p.get("station_id")})
        return {sid: store.latest_weather(session, sid, resolution="daily", before=before)
                for sid in stations}


# ----------------------------------------------------------------------------------------------------------
# Stored weekly advice (orchard run-week) and records of inputs
# ----------------------------------------------------------------------------------------------------------
def advice(user_id: str, plot_id: str | None = None) -> list[dict]:
    """Recommendations of the latest weekly run on the user's plots (or on one plot, checked), most severe
    first."""
    return _advice(database_url(), user_id, plot_id, _review_stamp())


def _review_stamp() -> str:
    """The store's review stamp (never cached): cached advice keys on it, so a hold shows at once."""
    with _session(database_url()) as session:
        return store.review_stamp(session)


@st.cache_data(ttl=LIST_TTL_S, max_entries=256, show_spinner=False)
def _advice(url: str, user_id: str, plot_id: str | None, review_stamp: str = "") -> list[dict]:
    with _session(url) as session:
        return store.approved_recommendations(session, user_id, plot_id=plot_id)  # a grower: reviewed only


def advice_summary(user_id: str) -> dict:
    """For the home tiles and map: per plot the most urgent severity, urgent and pest-alert counts.

    Returns
    -------
    dict
        ``issued_on`` (date or None), ``severity`` {plot_id: 1-5}, ``plots`` (per plot its most urgent
        recommendation: :func:`plot_view.week_by_plot`), ``urgent`` (recommendations with severity
        ≥ :data:`URGENT_SEVERITY`), ``pest_alerts`` (spray recommendations) on ``pest_plots`` plots,
        ``most_urgent_plot`` and ``pest_plot`` (the plots the tiles open, or None).
    """
    records = advice(user_id)
    week = pv.week_by_plot(records)
    sprays = [r for r in records if r["topic"] == "spray"]
    return {"issued_on": records[0]["issued_on"] if records else None,
            "severity": {pid: w["severity"] for pid, w in week["plots"].items()}, "plots": week["plots"],
            "urgent": sum(int(r["severity"]) >= URGENT_SEVERITY for r in records),
            "pest_alerts": len(sprays), "pest_plots": len({r["plot_id"] for r in sprays}),
            "most_urgent_plot": week["urgent_plot"], "pest_plot": week["pest_plot"]}


def purchases(user_id: str) -> list[dict]:
    """Purchases the user may see (growers: their own), oldest first."""
    return _purchases(database_url(), user_id)


@st.cache_data(ttl=LIST_TTL_S, max_entries=64, show_spinner=False)
def _purchases(url: str, user_id: str) -> list[dict]:
    with _session(url) as session:
        return store.list_purchases(session, user_id)


def applications(user_id: str, plot_id: str | None = None) -> list[dict]:
    """Applications on the user's plots (or on one plot, checked first), oldest first."""
    if plot_id is not None:
        plot(user_id, plot_id)
    return _applications(database_url(), user_id, plot_id)


@st.cache_data(ttl=LIST_TTL_S, max_entries=256, show_spinner=False)
def _applications(url: str, user_id: str, plot_id: str | None) -> list[dict]:
    with _session(url) as session:
        return store.list_applications(session, user_id, plot_ids=None if plot_id is None else [plot_id])


def record_application(user_id: str, plot_id: str, **fields) -> int:
    """Record an application (advice.market checks product, unit and target; the store checks the plot)."""
    from advice.market import record_application as record

    with _session(database_url()) as session:
        new_id = record(session, user_id, None, plot_id, **fields)
    _applications.clear()
    return new_id


def record_purchase(user_id: str, **fields) -> int:
    """Record a purchase (advice.market checks product and unit; the store checks who buys for whom)."""
    from advice.market import record_purchase as record

    with _session(database_url()) as session:
        new_id = record(session, user_id, None, **fields)
    _purchases.clear()
    return new_id


# ----------------------------------------------------------------------------------------------------------
# Stored weekly runs (orchard run-week): the plot page reads them, it never runs a model
# ----------------------------------------------------------------------------------------------------------
def run_for(as_of: date | None = None) -> dict | None:
    """The latest stored weekly run, or the latest issued on or before ``as_of`` (None: no run yet).

    Runs carry no personal data (what a user may read of a run is checked per plot by :func:`plot_page`).
    """
    return _run_for(database_url(), as_of)


@st.cache_data(ttl=LIST_TTL_S, max_entries=64, show_spinner=False)
def _run_for(url: str, as_of: date | None) -> dict | None:
    with _session(url) as session:
        return pv.find_run(session, as_of)


def run_dates() -> list[date]:
    """Issue dates of the stored runs, newest first."""
    return _run_dates(database_url())


@st.cache_data(ttl=LIST_TTL_S, max_entries=4, show_spinner=False)
def _run_dates(url: str) -> list[date]:
    with _session(url) as session:
        return pv.run_dates(session)


def plot_page(user_id: str, plot_id: str, run: dict) -> dict:
    """What the plot page shows of a stored run for one plot (:func:`plot_view.plot_page`): the run, its
    advice for the plot and each section as ``{"ok": ...}`` or ``{"error": sentence}``; cached per user,
    plot and run (a run stored again under the same id has a new creation time, so a new entry).

    Raises
    ------
    orchard.errors.AccessError, InputError
        A plot the user may not open (checked before anything is read), or a run without the plot.
    """
    return _plot_page(database_url(), user_id, plot_id, run["run_id"], run.get("created_utc", ""),
                      _review_stamp())


@st.cache_data(ttl=MODEL_TTL_S, max_entries=256, show_spinner=False)
def _plot_page(url: str, user_id: str, plot_id: str, run_id: str, created_utc: str,
               review_stamp: str = "") -> dict:
    with _session(url) as session:
        return pv.plot_page(session, user_id, plot_id, run_id)


# ----------------------------------------------------------------------------------------------------------
# Field photos: checks, identification, the image library
# ----------------------------------------------------------------------------------------------------------
def check_photo(name: str | None, data: bytes) -> tuple[str, dict] | None:
    """Why an uploaded file is not a usable photo, as ``(message key, fields)``; None if it is one.

    The browser's type filter is only a hint: the size is checked first (nothing larger is decoded), then
    the content must decode as JPEG, PNG or WebP of at most :data:`MAX_PHOTO_PIXELS` pixels.
    """
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        return "identify.too_large", {"mb": len(data) / 1024 / 1024, "max": MAX_PHOTO_MB}
    extension = (name or "").rsplit(".", 1)[-1].lower() if "." in (name or "") else ""
    if extension not in PHOTO_TYPES:
        return "identify.wrong_type", {}
    if not data:
        return "identify.not_image", {}
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in PHOTO_FORMATS:
                return "identify.not_image", {}
            if image.width * image.height > MAX_PHOTO_PIXELS:
                return "identify.too_many_pixels", {"mpx": image.width * image.height / 1e6,
                                                    "max": MAX_PHOTO_PIXELS / 1e6}
            image.load()  # decodes every pixel: a truncated or corrupt file fails here
    except UnidentifiedImageError:
        return "identify.not_image", {}
    except Image.DecompressionBombError as exc:
        # Pillow refuses to open an image of more than twice its own pixel limit (a 20000 x 20000 photo):
        # too large, not damaged (issue #19). Its message gives the pixel count; else its limit is the least.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else 2 * (Image.MAX_IMAGE_PIXELS or MAX_PHOTO_PIXELS)
        return "identify.too_many_pixels", {"mpx": pixels / 1e6, "max": MAX_PHOTO_PIXELS / 1e6}
    except (OSError, ValueError, SyntaxError):
        return "identify.corrupt", {}
    return None


def identification(result) -> dict:
    """The classifier's answer (:func:`pests.images.classifier.identify`) for the page: ``{"top": [{label,
    probability, name_en, name_zh}, ...] (at most 3, most likely first), "uncertain": bool}``.

    Also takes a plain ``{label: probability}`` mapping or a list of ``(label, probability)`` pairs; names
    missing from the answer stay None (the page then translates the label itself).
    """
    uncertain = False
    ranking = result
    if isinstance(result, dict) and "top" in result:
        uncertain = bool(result.get("uncertain", False))
        ranking = result["top"]
    elif isinstance(result, dict):
        ranking = sorted(result.items(), key=lambda kv: -float(kv[1]))
    rows = []
    for item in ranking or []:
        if isinstance(item, dict):
            row = {"label": str(item["label"]), "probability": float(item["probability"]),
                   "name_en": item.get("name_en"), "name_zh": item.get("name_zh")}
        else:
            row = {"label": str(item[0]), "probability": float(item[1]), "name_en": None, "name_zh": None}
        rows.append(row)
    rows.sort(key=lambda row: -row["probability"])
    return {"top": rows[:3], "uncertain": uncertain or not rows}


def identify_photo(user_id: str, data: bytes) -> dict:
    """Top-3 labels of a checked photo from the trained classifier (pests.images.classifier.identify),
    cached per user and photo (a widget touched after the upload does not identify it again).

    Raises
    ------
    orchard.errors.InputError
        No trained model ("train one with `orchard images train`"), or a photo the classifier refuses.
    """
    return _identify(str(config.orchard_home().resolve()), user_id, data)


@st.cache_data(ttl=MODEL_TTL_S, max_entries=32, show_spinner=False)
def _identify(home: str, user_id: str, data: bytes) -> dict:
    from pests.images.classifier import identify

    return identification(identify(data))  # errors are not cached: a model trained later is used at once


def save_photo(user_id: str, data: bytes, *, plot_id: str | None, original_name: str | None,
               prediction: dict | None = None) -> tuple[int, bool]:
    """Add a checked photo to the image library as an unlabelled sample for an agronomist to label, with the
    model's answer kept as its prediction; the plot is checked for the user first.

    Returns
    -------
    (sample_id, duplicate)
        ``duplicate`` is True when the same photo was already in the library (nothing was changed).
    """
    from pests.images.library import add_image

    if plot_id is not None:
        plot(user_id, plot_id)
    extra = {}
    if prediction and prediction.get("top"):
        extra = {"predicted_label": prediction["top"][0]["label"],
                 "predicted_probability": prediction["top"][0]["probability"]}
    with _session(database_url()) as session:
        sample = add_image(session, user_id, data, label="unknown", plot_id=plot_id, label_source="model",
                           original_name=original_name, **extra)
    return int(sample["sample_id"]), bool(sample.get("duplicate", False))


@st.cache_data(show_spinner=False)
def relief(dem_path: str) -> tuple[str, list[float]] | None:
    """The offline shaded-relief basemap of a DEM (no user data: shared by everyone)."""
    from basemap import shaded_relief

    try:
        return shaded_relief(dem_path)
    except OrchardError:
        return None  # the maps still show the plots, without relief


def basemap() -> tuple[str, list[float]] | None:
    dem = config.basemap_dem()
    return relief(str(dem)) if dem else None
