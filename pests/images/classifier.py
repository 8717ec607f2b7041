"""Training, evaluating, saving and using the photo classifier.

The model is a scikit-learn pipeline: standardised colour + texture features (:mod:`pests.images.features`)
into an L2-penalised multinomial logistic regression with balanced class weights. The choice was made a
priori, not by trying models on the evaluation folds: with a few hundred photos and ~80 features a linear
model has the lowest variance, it is fitted by minimising log-loss so its probabilities are usable as they are
(checked below with the Brier score and the expected calibration error, both on out-of-fold predictions), and
it has one hyperparameter, kept at scikit-learn's default (``classifier.inverse_regularisation`` = 1). A
separate calibration step (``CalibratedClassifierCV``) would need held-out images of every class, and the
rarest class has eight.

Evaluation is stratified k-fold cross-validation with a fixed seed; every figure (accuracy, per-class
precision/recall/F1, confusion matrix) comes from out-of-fold predictions. The "uncertain" threshold is set on
the same out-of-fold predictions: the lowest top-class probability above which the answers were right at least
``classifier.target_precision`` of the time. It is a decision rule on top of the model, not a model setting,
and the reported accuracy does not depend on it.

Files (default ``ORCHARD_HOME/models/images/``): ``model.skops`` (the pipeline, skops format: loading never
executes code; pickle would), ``model.json`` (version, classes, feature settings, threshold and the sha256 of
model.skops), ``metrics.json``, ``training_manifest.csv`` (sha256 and label of every training photo) and
``confusion_matrix.png``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from orchard.config import orchard_home
from orchard.errors import InputError, StorageError
from pests.images.features import FeatureSettings, image_features, load_rgb
from pests.images.labels import label_name
from pests.images.validate import check_image, parameters

__all__ = [
    "train",
    "fit_and_save",
    "cross_validated",
    "choose_threshold",
    "make_pipeline",
    "load_model",
    "identify",
    "default_model_dir",
    "ImageModel",
    "ALLOWED_TYPES",
    "TOP_K",
]

MODEL_FILE = "model.skops"
META_FILE = "model.json"
METRICS_FILE = "metrics.json"
MANIFEST_FILE = "training_manifest.csv"
CONFUSION_FILE = "confusion_matrix.png"
#: Classes shown by :func:`identify`.
TOP_K = 3
#: Every type a model file may contain. skops refuses anything else, and we refuse a file in which
#: ``skops.io.get_untrusted_types`` reports a type outside this list before loading it.
ALLOWED_TYPES = (
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
)
MODEL_KIND = "StandardScaler + LogisticRegression (multinomial, L2, class_weight=balanced)"


def default_model_dir() -> Path:
    """``ORCHARD_HOME/models/images``."""
    return orchard_home() / "models" / "images"


# ----------------------------------------------------------------------------------------------------------
# Fitting and cross-validation
# ----------------------------------------------------------------------------------------------------------
def make_pipeline(inverse_regularisation: float = 1.0, seed: int = 0):
    """The unfitted classifier: StandardScaler, then balanced multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "classify",
                LogisticRegression(
                    C=inverse_regularisation, class_weight="balanced", max_iter=5000, random_state=seed
                ),
            ),
        ]
    )


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of top-class confidences: sum over bins of |accuracy - confidence| weighted
    by the bin's share of predictions (Guo et al. 2017, ICML, "On calibration of modern neural networks")."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def choose_threshold(
    correct: np.ndarray, confidence: np.ndarray, target_precision: float
) -> dict[str, float]:
    """The lowest top-class probability t at which answers with confidence >= t are right often enough.

    Parameters
    ----------
    correct : array of bool
        Whether each out-of-fold prediction was right.
    confidence : array of float
        Its top-class probability [0-1].
    target_precision : float
        Required share of right answers among those not flagged uncertain [0-1].

    Returns
    -------
    dict
        ``threshold``, ``coverage`` (share of answers at or above it) and ``accuracy_above`` (their accuracy).
        If no threshold reaches the target, the threshold is just above the highest confidence (everything
        is uncertain, coverage 0).
    """
    correct = np.asarray(correct, bool)
    confidence = np.asarray(confidence, float)
    order = np.argsort(-confidence, kind="stable")
    right_cum = np.cumsum(correct[order])
    precision_at = right_cum / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision_at >= target_precision)[0]
    # Take the largest set of most-confident answers that still meets the target (ties share one threshold).
    for k in ok[::-1]:
        t = confidence[order][k]
        above = confidence >= t
        if correct[above].mean() >= target_precision:
            return {
                "threshold": float(t),
                "coverage": float(above.mean()),
                "accuracy_above": float(correct[above].mean()),
            }
    return {
        "threshold": float(np.nextafter(confidence.max(initial=0.0), 1.0)),
        "coverage": 0.0,
        "accuracy_above": float("nan"),
    }


def cross_validated(
    X: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    inverse_regularisation: float = 1.0,
    target_precision: float = 0.9,
    X_test: np.ndarray | None = None,
) -> dict[str, Any]:
    """Stratified k-fold cross-validation of :func:`make_pipeline`; every figure from out-of-fold predictions.

    ``X_test`` (same rows as ``X``, e.g. features of the same photos re-saved as JPEG) is what the held-out
    fold is predicted from, while the model is fitted on ``X``: a test of robustness to how photos are saved.

    Returns
    -------
    dict
        accuracy, balanced_accuracy, majority_class, majority_rate, per_class (precision, recall, f1,
        support), confusion_matrix (labels; matrix with true classes in rows, predicted in columns),
        fold_accuracies, log_loss, brier_score, expected_calibration_error, threshold (see
        :func:`choose_threshold`), cv (scheme, folds, shuffle, seed), n_samples, class_counts; plus
        ``oof_probability`` and ``classes`` (arrays, not JSON) for figures.
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        log_loss,
        precision_recall_fscore_support,
    )
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(str)
    classes = np.unique(y)
    X_eval = X if X_test is None else X_test
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = np.zeros((len(y), len(classes)))
    for train_rows, test_rows in splitter.split(X, y):
        fitted = make_pipeline(inverse_regularisation, seed).fit(X[train_rows], y[train_rows])
        columns = np.searchsorted(classes, fitted.classes_)  # a class absent from a training fold stays 0
        proba[np.ix_(test_rows, columns)] = fitted.predict_proba(X_eval[test_rows])
    predicted = classes[np.argmax(proba, axis=1)]
    correct = predicted == y
    confidence = proba.max(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=classes, zero_division=0
    )
    counts = {c: int((y == c).sum()) for c in classes}
    majority = max(counts, key=counts.get)
    fold_acc = [float(correct[test].mean()) for _, test in splitter.split(X, y)]
    onehot = (y[:, None] == classes[None, :]).astype(float)
    return {
        "n_samples": int(len(y)),
        "class_counts": counts,
        "accuracy": float(accuracy_score(y, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "majority_class": majority,
        "majority_rate": counts[majority] / len(y),
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion_matrix": {
            "labels": classes.tolist(),
            "matrix": confusion_matrix(y, predicted, labels=classes).tolist(),
            "rows": "true class",
            "columns": "predicted class",
        },
        "fold_accuracies": fold_acc,
        "log_loss": float(log_loss(y, proba, labels=classes)),
        "brier_score": float(((proba - onehot) ** 2).sum(axis=1).mean()),
        "expected_calibration_error": expected_calibration_error(correct, confidence),
        "threshold": {
            **choose_threshold(correct, confidence, target_precision),
            "target_precision": target_precision,
            "how": "lowest out-of-fold top-class probability at which answers at or above it were right "
            "at least target_precision of the time",
        },
        "cv": {"scheme": "stratified k-fold", "folds": folds, "shuffle": True, "seed": seed},
        "oof_probability": proba,
        "classes": classes,
    }


def _json_ready(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("oof_probability", "classes")}


# ----------------------------------------------------------------------------------------------------------
# Training from the library
# ----------------------------------------------------------------------------------------------------------
def train(session, caller: str | None = None, *, out_dir=None, params=None, progress=None) -> dict[str, Any]:
    """Train on the verified samples of the library, cross-validate, and save the model beside its metrics.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    caller : str, optional
        An agronomist or admin; None for the operator (CLI).
    out_dir : path-like, optional
        Model folder (default :func:`default_model_dir`).
    params : orchard.params.ParameterSet, optional
        Image parameters (default the shipped ``images.toml``).
    progress : callable(done, total), optional
        Called after each photo's features.

    Returns
    -------
    dict
        The metrics (as written to ``metrics.json``), with ``model_dir`` and ``model_version``.

    Raises
    ------
    orchard.errors.InputError
        Fewer than two classes with at least ``classifier.folds`` verified photos each.
    """
    from pests.images import library

    p = params if params is not None else parameters()
    folds = int(p["classifier.folds"])
    samples = library.training_samples(session, caller)
    counts = library.label_counts(samples)
    kept = {k for k, n in counts.items() if n >= folds}
    excluded = {k: n for k, n in counts.items() if k not in kept}
    samples = [s for s in samples if s["label"] in kept]
    if len(kept) < 2:
        raise InputError(
            f"the library has {sum(counts.values())} verified photos in {len(counts)} classes, but "
            f"training needs at least two classes with {folds} or more verified photos each; add "
            "and verify photos (orchard images add / verify) first."
        )
    settings = FeatureSettings.from_parameters(p)
    started = time.perf_counter()
    rows = []
    for i, s in enumerate(samples):
        rows.append(image_features(load_rgb(library.image_path(s), settings.size_px), settings))
        if progress is not None:
            progress(i + 1, len(samples))
    feature_seconds = time.perf_counter() - started
    X = np.vstack(rows)
    y = np.array([s["label"] for s in samples])
    manifest = [
        {
            "sample_id": s["sample_id"],
            "sha256": s["sha256"],
            "label": s["label"],
            "label_source": s["label_source"],
            "verified_by": s["verified_by"] or "",
        }
        for s in samples
    ]
    metrics = fit_and_save(X, y, manifest, out_dir=out_dir, settings=settings, params=p)
    metrics["excluded_classes"] = excluded
    metrics["timings_s"]["features"] = round(feature_seconds, 3)
    _write_json(Path(metrics["model_dir"]) / METRICS_FILE, _public_metrics(_json_ready(metrics)))
    return metrics


def _public_metrics(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "model_dir"}


def fit_and_save(
    X: np.ndarray,
    y,
    manifest: list[dict],
    *,
    out_dir=None,
    settings: FeatureSettings | None = None,
    params=None,
) -> dict[str, Any]:
    """Cross-validate, fit on all rows, and write the model folder; return the metrics.

    ``manifest`` has one dict per row of ``X`` (at least ``sha256`` and ``label``), written as the training
    manifest.
    """
    import skops.io as sio

    p = params if params is not None else parameters()
    settings = settings or FeatureSettings.from_parameters(p)
    folds, seed = int(p["classifier.folds"]), int(p["classifier.seed"])
    c_value, target = float(p["classifier.inverse_regularisation"]), float(p["classifier.target_precision"])
    y = np.asarray(y).astype(str)
    started = time.perf_counter()
    metrics = cross_validated(
        X, y, folds=folds, seed=seed, inverse_regularisation=c_value, target_precision=target
    )
    cv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pipeline = make_pipeline(c_value, seed).fit(X, y)
    fit_seconds = time.perf_counter() - started

    out = Path(out_dir) if out_dir is not None else default_model_dir()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the model folder {out} ({exc.strerror}); check ORCHARD_HOME."
        ) from None
    model_path = out / MODEL_FILE
    tmp = out / f".{MODEL_FILE}.{os.getpid()}.part"
    try:
        sio.dump(pipeline, tmp)
        os.replace(tmp, model_path)
    finally:
        tmp.unlink(missing_ok=True)
    model_sha = _sha256(model_path)
    trained = datetime.now(UTC)
    version = f"images-{trained:%Y%m%dT%H%M%SZ}-{model_sha[:8]}"
    metrics.update(
        {
            "model_version": version,
            "trained_utc": trained.isoformat(),
            "model": {
                "kind": MODEL_KIND,
                "inverse_regularisation": c_value,
                "selection": "a priori (not tuned)",
            },
            "features": {
                "settings": settings.as_dict(),
                "n_features": int(X.shape[1]),
                "region": "whole image",
            },
            "parameter_set_hash": getattr(p, "hash", None),
            "timings_s": {"cross_validation": round(cv_seconds, 3), "final_fit": round(fit_seconds, 3)},
            "model_dir": str(out),
        }
    )
    _write_manifest(out / MANIFEST_FILE, manifest)
    _write_json(out / METRICS_FILE, _public_metrics(_json_ready(metrics)))
    try:
        confusion_figure(metrics, out / CONFUSION_FILE)
    except Exception:  # noqa: BLE001 - the figure is a convenience; the numbers are in metrics.json
        pass
    meta = {
        "model_version": version,
        "model_sha256": model_sha,
        "classes": pipeline.classes_.tolist(),
        "threshold": metrics["threshold"]["threshold"],
        "feature_settings": settings.as_dict(),
        "model": MODEL_KIND,
        "trained_utc": trained.isoformat(),
        "n_samples": int(len(y)),
        "accuracy_cv": metrics["accuracy"],
        "majority_rate": metrics["majority_rate"],
    }
    _write_json(out / META_FILE, meta)  # last: a folder with model.json is complete
    result = _json_ready(metrics)
    result["oof_probability"], result["classes"] = metrics["oof_probability"], metrics["classes"]
    return result


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(json.dumps(_jsonable(data), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _write_manifest(path: Path, rows: list[dict]) -> None:
    columns = list(rows[0]) if rows else ["sha256", "label"]
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def confusion_figure(metrics: dict, path: Path, title: str | None = None) -> Path:
    """Draw the cross-validated confusion matrix to a PNG: counts, rows = true class, shaded by row share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = metrics["confusion_matrix"]["labels"]
    matrix = np.asarray(metrics["confusion_matrix"]["matrix"])
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)  # colour by share of the true class
    fig, ax = plt.subplots(figsize=(5.0, 4.6), dpi=110)
    ax.imshow(share, cmap="Greens", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(
        title or f"cross-validated accuracy {metrics['accuracy']:.0%} (n = {metrics['n_samples']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------------------------
# Loading and identification
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageModel:
    """A loaded classifier with what identification needs."""

    pipeline: Any
    classes: tuple[str, ...]
    threshold: float
    settings: FeatureSettings
    model_version: str
    directory: Path


_CACHE: dict[tuple, ImageModel] = {}


def clear_cache() -> None:
    """Forget loaded models (the next :func:`load_model` reads the files again)."""
    _CACHE.clear()


def load_model(model_dir=None) -> ImageModel:
    """Load the model folder written by :func:`train` safely (skops, explicit type allow-list; no pickle).

    Raises
    ------
    orchard.errors.InputError
        No model, a model file that is not a valid skops file, one holding types outside
        :data:`ALLOWED_TYPES`, one that does not match model.json, or a damaged model.json.
    """
    folder = Path(model_dir) if model_dir is not None else default_model_dir()
    meta_path, model_path = folder / META_FILE, folder / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise InputError(f"no identification model in {folder}; train one with `orchard images train`.")
    key = (
        str(folder.resolve()),
        meta_path.stat().st_mtime_ns,
        model_path.stat().st_mtime_ns,
        model_path.stat().st_size,
    )
    if key in _CACHE:
        return _CACHE[key]
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        classes = tuple(str(c) for c in meta["classes"])
        threshold = float(meta["threshold"])
        settings = FeatureSettings.from_dict(meta["feature_settings"])
        version, expected_sha = str(meta["model_version"]), str(meta["model_sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{meta_path}: the model description is damaged ({type(exc).__name__}: {exc}); "
            "train the model again with `orchard images train`."
        ) from None
    pipeline = load_skops(model_path)
    if _sha256(model_path) != expected_sha:
        raise InputError(
            f"{model_path}: the model file does not match {META_FILE} (another training run wrote "
            "it, or it was replaced); train the model again with `orchard images train`."
        )
    if tuple(str(c) for c in getattr(pipeline, "classes_", ())) != classes:
        raise InputError(f"{model_path}: the model's classes differ from {META_FILE}; train the model again.")
    model = ImageModel(
        pipeline=pipeline,
        classes=classes,
        threshold=threshold,
        settings=settings,
        model_version=version,
        directory=folder,
    )
    _CACHE.clear()  # one model in memory at a time
    _CACHE[key] = model
    return model


def load_skops(path) -> Any:
    """Load a skops file, refusing anything that is not a skops archive or holds a type we did not allow.

    Pickle is never used: skops rebuilds objects from a JSON schema and refuses types that are not trusted,
    so a hostile file cannot run code while loading.
    """
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    path = Path(path)
    what = f"{path}: "
    hint = "train the model again with `orchard images train`, or restore the file written by it."
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"{what}not a skops model file (not a zip archive; a pickle is never loaded); {hint}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            has_schema = "schema.json" in archive.namelist()
        untrusted = sio.get_untrusted_types(file=path) if has_schema else None
    except Exception as exc:  # noqa: BLE001 - any failure to read the archive is the same refusal
        raise InputError(f"{what}not a valid skops model file ({type(exc).__name__}); {hint}") from None
    if untrusted is None:
        raise InputError(f"{what}not a skops model file (no schema.json in the archive); {hint}")
    refused = [t for t in untrusted if t not in ALLOWED_TYPES]
    if refused:
        raise InputError(
            f"{what}the model file holds types that are not allowed ({', '.join(refused[:3])}); "
            f"it was not loaded; {hint}"
        )
    try:
        obj = sio.load(path, trusted=[t for t in untrusted if t in ALLOWED_TYPES])
    except Exception as exc:  # noqa: BLE001 - skops raises many types on a broken archive
        raise InputError(f"{what}the skops model file is damaged ({type(exc).__name__}); {hint}") from None
    steps = getattr(obj, "steps", None)
    if (
        not isinstance(obj, Pipeline)
        or len(steps) != 2
        or not isinstance(steps[0][1], StandardScaler)
        or not isinstance(steps[1][1], LogisticRegression)
    ):
        raise InputError(
            f"{what}the file holds a {type(obj).__name__}, not the toolkit's image classifier; {hint}"
        )
    return obj


def identify(
    image_path_or_bytes, model_dir=None, *, model: ImageModel | None = None, name: str | None = None
) -> dict[str, Any]:
    """Identify the pest or disease on a photo: the three most likely classes with their probabilities.

    Parameters
    ----------
    image_path_or_bytes : path-like or bytes
        The photo (validated like a library upload).
    model_dir : path-like, optional
        Model folder (default :func:`default_model_dir`).
    model : ImageModel, optional
        An already loaded model (skips ``model_dir``).

    Returns
    -------
    dict
        ``top``: up to three ``{label, probability, name_en, name_zh}``, most likely first; ``label``: the top
        class, or "uncertain"; ``uncertain``: True when the top probability is below ``threshold`` (set on
        out-of-fold predictions, see the module notes); ``threshold``; ``model_version``; ``image``: format,
        size and EXIF time and position of the photo.
    """
    model = model or load_model(model_dir)
    checked = check_image(image_path_or_bytes, name=name)
    rgb = load_rgb(checked.data, model.settings.size_px)
    x = image_features(rgb, model.settings)[None, :]
    proba = model.pipeline.predict_proba(x)[0]
    order = np.argsort(-proba, kind="stable")[:TOP_K]
    top = [
        {
            "label": model.classes[i],
            "probability": float(proba[i]),
            "name_en": label_name(model.classes[i], "en"),
            "name_zh": label_name(model.classes[i], "zh"),
        }
        for i in order
    ]
    uncertain = bool(top[0]["probability"] < model.threshold)
    return {
        "top": top,
        "label": "uncertain" if uncertain else top[0]["label"],
        "uncertain": uncertain,
        "threshold": model.threshold,
        "model_version": model.model_version,
        "image": {
            "format": checked.image_format,
            "width_px": checked.width_px,
            "height_px": checked.height_px,
            "taken_utc": checked.taken_utc.isoformat() if checked.taken_utc else None,
            "lat": checked.lat,
            "lon": checked.lon,
            "sha256": hashlib.sha256(checked.data).hexdigest(),
        },
    }


def save_identification(
    session,
    caller: str | None,
    image_path_or_bytes,
    result: dict,
    *,
    plot_id: str | None = None,
    collector: str | None = None,
    notes: str | None = None,
    original_name: str | None = None,
) -> dict[str, Any]:
    """Keep an identified photo in the library as an unverified sample (the library grows from the field).

    The label is the model's top class (``label_source="model"``), or "unknown" when it was uncertain; the
    model's answer is kept in ``predicted_label`` / ``predicted_probability`` for the agronomist who verifies
    it. ``caller`` None adds as the operator.
    """
    from pests.images import library

    top = result["top"][0]
    kwargs = dict(
        label="unknown" if result["uncertain"] else top["label"],
        plot_id=plot_id,
        collector=collector,
        notes=notes,
        original_name=original_name,
        label_source="model",
        predicted_label=top["label"],
        predicted_probability=top["probability"],
    )
    if caller is None:
        return library.import_image(session, image_path_or_bytes, **kwargs)
    return library.add_image(session, caller, image_path_or_bytes, **kwargs)
