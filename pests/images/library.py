"""The image library: field photos of pests and diseases with who took them, where, when and what they show.

Each photo is one row of ``image_samples`` (:class:`orchard.store.ImageSample`) and one file, stored under
``ORCHARD_HOME`` by its content: ``images/<sha256[:2]>/<sha256>.<jpg|png|webp>``. The same photo added twice
is stored once (the second add returns the first sample with ``duplicate=True``, without personal fields
when the caller may not see it and it belongs to the reference collection); a grower adding a photo that only
another grower has (taken on a plot, or added by a grower) gets a sample of their own pointing at the same
file, so the answer never reveals that the other grower's sample exists. A photo is validated
completely (:func:`pests.images.validate.check_image`) before anything is written; the file is written
atomically (temporary file + ``os.replace``) and removed again if the database insert or the transaction
fails, so a row never points at a missing file.

Access (in the data layer, as in :mod:`orchard.store`)
------------------------------------------------------
==========  ===========================================  ==============================================
role        sees                                         may change
==========  ===========================================  ==============================================
grower      samples they added or taken on their plots  add photos (own plots, or no plot)
agronomist  all samples                                  add photos (any plot); verify or relabel
admin       all samples                                  verify or relabel (adds no field data)
extension   all samples without personal fields          nothing
            (collector, added_by, verified_by,
            original_name and notes are None)
==========  ===========================================  ==============================================

Operator tools (CLI without ``--user``) use :func:`import_image` and :func:`all_samples`, which are not
scoped; never call them with a choice that came from an app user.

A sample is **verified** when an agronomist or admin confirmed its label (``verified_by`` set) or when its
label came from an agronomist at import (``label_source == "agronomist"``, e.g. the expert-labelled Rauf et
al. 2019 images). Only verified samples with a label other than ``unknown`` train the classifier.
"""

from __future__ import annotations

import csv
import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from orchard import limits, store
from orchard.config import CHINA_UTC_OFFSET_H, orchard_home
from orchard.errors import AccessError, InputError, StorageError
from pests.images.labels import LABELS, UNKNOWN, label_name, normalise_label
from pests.images.validate import CheckedImage, check_image

__all__ = [
    "add_image",
    "import_image",
    "add_folder",
    "FolderReport",
    "list_samples",
    "all_samples",
    "get_sample",
    "verify",
    "export_manifest",
    "image_path",
    "training_samples",
    "IMAGE_SUFFIXES",
    "VERIFIER_ROLES",
    "ADDER_ROLES",
]

#: File names taken from a folder (any case); other files in the folder are listed as skipped.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: Roles that may verify or relabel samples.
VERIFIER_ROLES = ("agronomist", "admin")
#: Roles that may add photos (growers only on their own plots).
ADDER_ROLES = ("grower", "agronomist")
#: Fields hidden from extension users (personal data does not leave the data layer).
PERSONAL_FIELDS = ("collector", "added_by", "verified_by", "original_name", "notes")
LABEL_SOURCES = store.IMAGE_LABEL_SOURCES
_NEW_FILES_KEY = "pests.images.new_files"


# ----------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------
def _user(session: Session, caller: str) -> store.User:
    if caller is None:
        raise AccessError(
            "no user given; pass the signed-in user's id (operator tools may use import_image)."
        )
    user = session.get(store.User, caller) if isinstance(caller, str) else None
    if user is None:
        raise AccessError(f"unknown user '{caller}'; sign in with an existing account.")
    return user


def _article(role: str) -> str:
    return "an" if role[0] in "aeiou" else "a"


def _columns() -> list[str]:
    return [c.key for c in store.ImageSample.__table__.columns]


def is_verified(sample) -> bool:
    """True when an agronomist confirmed the label or gave it at import (see the module notes)."""
    get = sample.get if isinstance(sample, dict) else lambda k: getattr(sample, k)
    return get("verified_by") is not None or get("label_source") == "agronomist"


def _sample_dict(row: store.ImageSample, user: store.User | None, duplicate: bool = False) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in _columns()}
    out["verified"] = is_verified(row)
    out["label_name_en"] = label_name(row.label, "en")
    out["label_name_zh"] = label_name(row.label, "zh")
    out["duplicate"] = duplicate
    if user is not None and user.role == "extension":
        for key in PERSONAL_FIELDS:
            out[key] = None
    return out


def _visible(session: Session, user: store.User, row: store.ImageSample) -> bool:
    if user.role != "grower":
        return True
    if row.added_by == user.user_id:
        return True
    if row.plot_id is not None:
        plot = session.get(store.Plot, row.plot_id)
        return plot is not None and plot.owner_id == user.user_id
    return False


def _a_growers(session: Session, row: store.ImageSample) -> bool:
    """Whether a sample is a grower's data: taken on a plot, or added by a grower (else it belongs to the
    reference collection: imported by the operator, or added by staff without a plot)."""
    if row.plot_id is not None:
        return True
    adder = session.get(store.User, row.added_by) if row.added_by else None
    return adder is not None and adder.role == "grower"


def _taken_utc(value) -> datetime | None:
    """A capture time as aware UTC (aware datetime or ISO text with a zone; a date is local midnight)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                f"date taken {value.isoformat()} has no time zone; give e.g. "
                "'2024-05-01T09:30+08:00' or just the date."
            )
        limits.check_past_times([value], "date taken")  # a photo was taken, so not in the future
        return value.astimezone(UTC)
    china = timezone(timedelta(hours=CHINA_UTC_OFFSET_H))
    if isinstance(value, date):
        value = limits.parse_date(value, "date taken", past=True)
        return datetime(value.year, value.month, value.day, tzinfo=china).astimezone(UTC)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return _taken_utc(date.fromisoformat(text))
        return _taken_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InputError(
            f"date taken {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM+08:00."
        ) from None


def _plausible(taken: datetime | None) -> datetime | None:
    """An EXIF capture time, or None when the camera's clock was plainly wrong (in the future, or before
    the plausible years): the photo is kept, its date is not."""
    if taken is None:
        return None
    try:
        limits.check_past_times([taken], "EXIF date")
    except InputError:
        return None
    return taken


def _clean_text(value, what: str, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > limit:
        raise InputError(f"{what} is {len(text)} characters long, more than {limit}; shorten it.")
    return text


def stored_relative_path(checked: CheckedImage, sha256: str) -> str:
    """Where a photo is kept, relative to ORCHARD_HOME: ``images/<sha[:2]>/<sha>.<ext>``."""
    return f"images/{sha256[:2]}/{sha256}.{checked.extension}"


def image_path(sample) -> Path:
    """The file of a sample (a sample dict or an :class:`~orchard.store.ImageSample`) under ORCHARD_HOME.

    Raises
    ------
    orchard.errors.InputError
        The stored path is not a library path (a tampered row), or the file is missing.
    """
    stored = sample["stored_path"] if isinstance(sample, dict) else sample.stored_path
    relative = Path(str(stored or ""))
    if (
        relative.is_absolute()
        or ".." in relative.parts
        or not relative.parts
        or relative.parts[0] != "images"
    ):
        raise InputError(
            f"sample file path {stored!r} is not inside the image library; ask an administrator."
        )
    path = orchard_home() / relative
    if not path.is_file():
        raise InputError(
            f"the file of this sample ({path}) is missing; restore ORCHARD_HOME/images from a backup."
        )
    return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_once(path: Path, data: bytes, sha256: str) -> bool:
    """Write ``data`` to ``path`` atomically unless an identical file is there; True when newly written."""
    if path.is_file() and path.stat().st_size == len(data) and _file_sha256(path) == sha256:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot write the image to {path.parent} ({exc.strerror}); check that ORCHARD_HOME "
            "is writable and has free space."
        ) from None
    return True


def _remove_new_files(session: Session, previous_transaction=None) -> None:
    """Rollback hook: remove the files this transaction wrote, unless a committed row now uses them."""
    if previous_transaction is not None and (previous_transaction.nested or previous_transaction.parent):
        return  # only the outermost rollback undoes the files
    written = session.info.pop(_NEW_FILES_KEY, [])
    if not written:
        return
    try:  # another process may have committed the same photo meanwhile: its row needs the file
        table = store.ImageSample.__table__
        with session.get_bind().connect() as connection:
            kept = set(
                connection.execute(
                    select(table.c.sha256).where(table.c.sha256.in_([sha for _, sha in written]))
                ).scalars()
            )
    except Exception:  # noqa: BLE001 - in doubt keep the file: an orphan is harmless, a missing file is not
        return
    for path, sha in written:
        if sha not in kept:
            Path(path).unlink(missing_ok=True)


def _forget_new_files(session: Session) -> None:
    session.info.pop(_NEW_FILES_KEY, None)


def _track_new_file(session: Session, path: Path, sha256: str) -> None:
    """Remember a file written in this transaction, so a rollback removes it (row and file never diverge)."""
    if not event.contains(session, "after_soft_rollback", _remove_new_files):
        event.listen(session, "after_soft_rollback", _remove_new_files)
        event.listen(session, "after_commit", _forget_new_files)
    session.info.setdefault(_NEW_FILES_KEY, []).append((str(path), sha256))


# ----------------------------------------------------------------------------------------------------------
# Adding photos
# ----------------------------------------------------------------------------------------------------------
def add_image(
    session: Session,
    caller: str,
    path_or_bytes,
    *,
    label: str = UNKNOWN,
    plot_id: str | None = None,
    collector: str | None = None,
    taken=None,
    notes: str | None = None,
    original_name: str | None = None,
    label_source: str = "collector",
    predicted_label: str | None = None,
    predicted_probability: float | None = None,
) -> dict[str, Any]:
    """Validate a photo and add it to the library as ``caller``; return the sample as a dict.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        From :func:`orchard.store.session_scope`; the row and the file are kept only if it commits.
    caller : str
        User id. Growers may add photos of their own plots (or without a plot), agronomists of any plot;
        extension users and admins may not add.
    path_or_bytes : path-like or bytes
        The image (JPEG, PNG or WebP).
    label : str
        Pest or disease code (:data:`pests.images.labels.LABELS`, aliases accepted) or "unknown".
    plot_id : str, optional
        Plot the photo was taken on (checked against the caller's rights).
    collector : str, optional
        Who took the photo (free text, e.g. a name or team).
    taken : datetime (aware), date or ISO text, optional
        Capture time if the photo has no EXIF DateTimeOriginal (EXIF wins); a date means local midnight
        (UTC+8).
    notes, original_name : str, optional
    label_source : {"collector", "model", "agronomist"}
        Who gave the label. "agronomist" needs an agronomist caller, and marks the sample verified by them.
    predicted_label, predicted_probability : optional
        The classifier's answer when the photo comes from ``orchard identify --save``.

    Returns
    -------
    dict
        The sample's columns plus ``verified``, ``label_name_en``, ``label_name_zh`` and ``duplicate`` (True
        when the same photo was already stored: nothing is changed then; a photo already stored by someone the
        caller may not see comes back with the personal fields None).

    Raises
    ------
    orchard.errors.AccessError
        Unknown caller, a role that may not add, another grower's plot, or an "agronomist" label by a grower.
    orchard.errors.InputError
        Bad image (see :func:`~pests.images.validate.check_image`), unknown label, plot or date.
    """
    user = _user(session, caller)
    if user.role not in ADDER_ROLES:
        raise AccessError(
            f"user '{user.user_id}' is {_article(user.role)} {user.role} and may not add photos to "
            "the image library; ask a grower or an agronomist."
        )
    if label_source == "agronomist" and user.role != "agronomist":
        raise AccessError(
            f"user '{user.user_id}' is {_article(user.role)} {user.role}; only agronomists may give "
            "an agronomist's label; add the photo with the collector's label."
        )
    if plot_id is not None:
        store.get_plot(session, user.user_id, plot_id)  # AccessError for another grower's plot
    return _add(
        session,
        user,
        path_or_bytes,
        label=label,
        plot_id=plot_id,
        collector=collector,
        taken=taken,
        notes=notes,
        original_name=original_name,
        label_source=label_source,
        predicted_label=predicted_label,
        predicted_probability=predicted_probability,
    )


def import_image(
    session: Session,
    path_or_bytes,
    *,
    label: str = UNKNOWN,
    plot_id: str | None = None,
    collector: str | None = None,
    taken=None,
    notes: str | None = None,
    original_name: str | None = None,
    label_source: str = "collector",
    predicted_label: str | None = None,
    predicted_probability: float | None = None,
) -> dict[str, Any]:
    """Add a photo as the operator (CLI without ``--user``): like :func:`add_image`, not caller-scoped.

    ``added_by`` stays empty. ``label_source="agronomist"`` is allowed here for expert-labelled collections
    (the sample is then verified without a ``verified_by`` user); say who labelled them in ``notes``.
    """
    if plot_id is not None and session.get(store.Plot, plot_id) is None:
        raise InputError(f"plot {plot_id} does not exist; check the plot id.")
    return _add(
        session,
        None,
        path_or_bytes,
        label=label,
        plot_id=plot_id,
        collector=collector,
        taken=taken,
        notes=notes,
        original_name=original_name,
        label_source=label_source,
        predicted_label=predicted_label,
        predicted_probability=predicted_probability,
    )


def _add(
    session: Session,
    user: store.User | None,
    source,
    *,
    label,
    plot_id,
    collector,
    taken,
    notes,
    original_name,
    label_source,
    predicted_label,
    predicted_probability,
) -> dict[str, Any]:
    if label_source not in LABEL_SOURCES:
        raise InputError(f"label source '{label_source}' is not one of {', '.join(LABEL_SOURCES)}.")
    code = normalise_label(label)
    predicted = normalise_label(predicted_label, "predicted label") if predicted_label else None
    probability = None
    if predicted_probability is not None:
        probability = float(predicted_probability)
        if not 0.0 <= probability <= 1.0:
            raise InputError(f"predicted probability {predicted_probability!r} is not between 0 and 1.")
    in_memory = isinstance(source, (bytes, bytearray, memoryview, CheckedImage))
    if original_name is None and not in_memory:
        original_name = Path(source).name
    original_name = _clean_text(original_name, "original file name", 300)
    collector = _clean_text(collector, "collector", 100)
    notes = _clean_text(notes, "notes", 4000)
    taken_given = _taken_utc(taken)

    checked = source if isinstance(source, CheckedImage) else check_image(
        source,
        name=None if not in_memory else (original_name or None),
    )
    sha256 = hashlib.sha256(checked.data).hexdigest()
    same = list(session.scalars(select(store.ImageSample).where(store.ImageSample.sha256 == sha256)
                                .order_by(store.ImageSample.sample_id)))
    existing = next((row for row in same if user is None or _visible(session, user, row)), None)
    if existing is not None:
        return _sample_dict(existing, user, duplicate=True)
    reference = next((row for row in same if not _a_growers(session, row)), None)
    if reference is not None:  # the reference collection (no grower's photo): say it is there, no more
        redacted = _sample_dict(reference, None, duplicate=True)
        for key in (*PERSONAL_FIELDS, "plot_id", "lat", "lon"):
            redacted[key] = None
        return redacted
    # A photo only another grower has is added as this caller's own sample (the file, stored by content,
    # is shared): the answer is that of a new photo and never reveals the other grower's sample.

    now = datetime.now(UTC)
    verified_by = user.user_id if (user is not None and label_source == "agronomist") else None
    relative = stored_relative_path(checked, sha256)
    path = orchard_home() / relative
    row = store.ImageSample(
        sha256=sha256,
        stored_path=relative,
        original_name=original_name,
        image_format=checked.image_format,
        width_px=checked.width_px,
        height_px=checked.height_px,
        size_bytes=checked.size_bytes,
        plot_id=plot_id,
        taken_utc=_plausible(checked.taken_utc) or taken_given,
        collector=collector,
        lon=checked.lon,
        lat=checked.lat,
        label=code,
        label_source=label_source,
        predicted_label=predicted,
        predicted_probability=probability,
        verified_by=verified_by,
        verified_utc=now if verified_by else None,
        notes=notes,
        added_by=user.user_id if user is not None else None,
        created_utc=now,
    )
    newly_written = _write_once(path, checked.data, sha256)  # only after validation
    if newly_written:
        _track_new_file(session, path, sha256)  # the rollback hook removes it if the transaction fails
    session.add(row)
    session.flush()
    return _sample_dict(row, user)


@dataclass
class FolderReport:
    """What :func:`add_folder` did: samples added, duplicates and skipped names (a refused photo stops the
    whole folder before anything is added, so there are no refused files to report)."""

    added: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not an image file name

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.duplicates)} already in the library, "
            f"{len(self.skipped)} other files skipped"
        )


def image_files(folder: Path, recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """(image files, other files) in a folder, sorted by path; hidden files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: is not a folder; give a folder of photos or one photo file.")
    entries = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(
        p
        for p in entries
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    return images, [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]


def add_folder(
    session: Session,
    caller: str | None,
    folder,
    *,
    labels_from_folders: bool = False,
    label: str = UNKNOWN,
    **options,
) -> FolderReport:
    """Add every image in a folder, all or nothing.

    Every photo is validated first (:func:`~pests.images.validate.check_image`); one that is refused stops
    the import before anything is added, with a sentence naming it (and how many others are refused). The
    rows are then added in the caller's transaction, so an error on any photo (access, database) leaves
    neither rows nor files behind once the transaction rolls back.

    Parameters
    ----------
    caller : str or None
        The user adding (:func:`add_image` rules), or None for the operator (:func:`import_image`).
    labels_from_folders : bool
        Walk sub-folders and label each image by its folder's name (``black-spot/x.png`` -> ``black_spot``),
        as labelled collections are laid out; the label must be in the vocabulary, else the whole import stops
        before anything is added.
    label, **options
        Passed on to :func:`add_image` / :func:`import_image` (``label`` is ignored with labels_from_folders).
    """
    folder = Path(folder)
    images, others = image_files(folder, recursive=labels_from_folders)
    labels = {}
    if labels_from_folders:
        for p in images:
            if p.parent == folder:
                raise InputError(
                    f"{p}: is not inside a class folder; with labels from folders every image must be "
                    "in a sub-folder named after its label (e.g. canker/)."
                )
            labels[p] = normalise_label(p.parent.name, where=f"folder {p.parent}")
    refused = []
    for p in images:  # checked twice (here and when added) so memory holds one photo, not the folder
        try:
            check_image(p)
        except InputError as exc:
            refused.append(str(exc))
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise InputError(
            f"{folder}: nothing was added, because {len(refused)} of {len(images)} photos cannot be: "
            f"{refused[0].rstrip('.')}{more}; remove or replace them and add the folder again."
        )
    report = FolderReport(skipped=[str(p) for p in others])
    for p in images:
        kwargs = {**options, "label": labels.get(p, label),
                  "original_name": options.get("original_name") or p.name}
        sample = (
            add_image(session, caller, p, **kwargs)
            if caller is not None
            else import_image(session, p, **kwargs)
        )
        (report.duplicates if sample["duplicate"] else report.added).append(sample)
    return report


# ----------------------------------------------------------------------------------------------------------
# Listing, verifying, exporting
# ----------------------------------------------------------------------------------------------------------
def _filtered(query, *, label=None, plot_id=None, verified=None):
    sample = store.ImageSample
    if label is not None:
        query = query.where(sample.label == normalise_label(label))
    if plot_id is not None:
        query = query.where(sample.plot_id == plot_id)
    trusted = or_(sample.verified_by.is_not(None), sample.label_source == "agronomist")
    if verified is True:
        query = query.where(trusted)
    elif verified is False:
        query = query.where(~trusted)
    return query.order_by(sample.sample_id)


def list_samples(
    session: Session,
    caller: str,
    *,
    label: str | None = None,
    plot_id: str | None = None,
    verified: bool | None = None,
) -> list[dict[str, Any]]:
    """Samples the caller may see (see the module notes), optionally of one label, plot or verification state.

    Raises
    ------
    orchard.errors.AccessError
        Unknown caller, or a grower filtering on another grower's plot.
    """
    user = _user(session, caller)
    if plot_id is not None:
        store.get_plot(session, user.user_id, plot_id)
    query = select(store.ImageSample)
    if user.role == "grower":
        own_plots = select(store.Plot.plot_id).where(store.Plot.owner_id == user.user_id)
        query = query.where(
            or_(store.ImageSample.added_by == user.user_id, store.ImageSample.plot_id.in_(own_plots))
        )
    query = _filtered(query, label=label, plot_id=plot_id, verified=verified)
    return [_sample_dict(row, user) for row in session.scalars(query)]


def all_samples(
    session: Session, *, label: str | None = None, plot_id: str | None = None, verified: bool | None = None
) -> list[dict[str, Any]]:
    """Every sample, unscoped: for operator tools (CLI without ``--user``, training) only."""
    query = _filtered(select(store.ImageSample), label=label, plot_id=plot_id, verified=verified)
    return [_sample_dict(row, None) for row in session.scalars(query)]


def get_sample(session: Session, caller: str, sample_id: int) -> dict[str, Any]:
    """One sample, after checking the caller may see it (InputError if it does not exist)."""
    user = _user(session, caller)
    if user.role == "grower":  # one refusal for a missing sample and another grower's: existence stays hidden
        try:
            row = _row(session, sample_id)
        except InputError:
            row = None
        if row is None or not _visible(session, user, row):
            raise store.not_yours("sample", sample_id)
    row = _row(session, sample_id)
    return _sample_dict(row, user)


def _row(session: Session, sample_id) -> store.ImageSample:
    try:
        key = int(sample_id)
    except (TypeError, ValueError):
        raise InputError(f"sample id {sample_id!r} is not a number; see `orchard images list`.") from None
    row = session.get(store.ImageSample, key)
    if row is None:
        raise InputError(f"sample {sample_id} does not exist; see `orchard images list`.")
    return row


def verify(session: Session, caller: str, sample_id: int, label: str) -> dict[str, Any]:
    """Confirm or correct a sample's label (agronomists and admins only); return the updated sample.

    The label becomes an agronomist's label (``label_source="agronomist"``) with ``verified_by`` and
    ``verified_utc`` set, so the sample joins the training set.
    """
    user = _user(session, caller)
    if user.role not in VERIFIER_ROLES:
        raise AccessError(
            f"user '{user.user_id}' is {_article(user.role)} {user.role}; only agronomists and "
            "admins may verify or relabel photos."
        )
    code = normalise_label(label)
    if code == UNKNOWN:
        raise InputError(
            f"sample {sample_id}: 'unknown' cannot be verified; give the pest or disease the photo "
            "shows (or 'healthy')."
        )
    row = _row(session, sample_id)
    row.label, row.label_source = code, "agronomist"
    row.verified_by, row.verified_utc = user.user_id, datetime.now(UTC)
    session.flush()
    return _sample_dict(row, user)


MANIFEST_COLUMNS = (
    "sample_id",
    "sha256",
    "file",
    "label",
    "label_name_en",
    "label_name_zh",
    "label_source",
    "verified",
    "verified_by",
    "verified_utc",
    "plot_id",
    "taken_utc",
    "lat",
    "lon",
    "collector",
    "image_format",
    "width_px",
    "height_px",
)


def export_manifest(session: Session, caller: str | None, path, *, include_unknown: bool = False) -> Path:
    """Write the labelled samples the caller may see to a CSV manifest (UTF-8); return its path.

    ``file`` is the path relative to ORCHARD_HOME. ``caller=None`` exports every sample (operator CLI).
    Samples labelled ``unknown`` are left out unless ``include_unknown``.
    """
    samples = all_samples(session) if caller is None else list_samples(session, caller)
    rows = [s for s in samples if include_unknown or s["label"] != UNKNOWN]
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise InputError(f"{path}: the manifest is written as CSV; give a file name ending in .csv.")
    tmp = path.with_name(f".{path.name}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(MANIFEST_COLUMNS)
            for s in rows:
                record = {**s, "file": s["stored_path"]}
                writer.writerow(
                    ["" if record.get(c) is None else _csv_value(record[c]) for c in MANIFEST_COLUMNS]
                )
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write the manifest ({exc.strerror}); choose a writable place."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _csv_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def training_samples(session: Session, caller: str | None = None) -> list[dict[str, Any]]:
    """Verified samples with a real label (not "unknown"), each photo once: the training set.

    ``caller`` None is the operator; otherwise it must be an agronomist or admin (growers do not train
    models).
    """
    if caller is not None:
        user = _user(session, caller)
        if user.role not in VERIFIER_ROLES:
            raise AccessError(
                f"user '{user.user_id}' is {_article(user.role)} {user.role}; only agronomists and "
                "admins may train the identification model."
            )
    # One photo once: two growers may each hold a sample of the same file (see the module notes).
    first: dict[str, dict[str, Any]] = {}
    for s in all_samples(session, verified=True):
        if s["label"] != UNKNOWN:
            first.setdefault(s["sha256"], s)
    return list(first.values())


def label_counts(samples: Iterable[dict]) -> dict[str, int]:
    """Number of samples per label, in vocabulary order."""
    counts: dict[str, int] = {}
    for s in samples:
        counts[s["label"]] = counts.get(s["label"], 0) + 1
    return {k: counts[k] for k in LABELS if k in counts}


# ----------------------------------------------------------------------------------------------------------
# The sample district's photos
# ----------------------------------------------------------------------------------------------------------
SAMPLE_IMAGE_NOTE = (
    "label by the dataset's domain expert (B.A. Saleem), Rauf et al. 2019, Data in Brief 26:104340, "
    "CC BY 4.0; lab photo on paper, Sargodha, Pakistan"
)


def load_sample_images(session: Session, root: Path | None = None) -> FolderReport:
    """Import the labelled leaf photos of ``sample_data/leaf_images`` as the operator (expert labels).

    Importing twice changes nothing (duplicates are recognised by content).
    """
    from orchard.config import sample_data_dir

    folder = Path(root) if root else sample_data_dir() / "leaf_images"
    if not folder.is_dir():
        raise InputError(
            f"sample leaf images not found ({folder}); run from a source checkout or set ORCHARD_SAMPLE_DATA."
        )
    return add_folder(
        session,
        None,
        folder,
        labels_from_folders=True,
        label_source="agronomist",
        collector="Rauf et al. 2019",
        notes=SAMPLE_IMAGE_NOTE,
    )
