"""Honest evaluation of the photo classifier on the real labelled leaf images in ``sample_data/leaf_images``.

The same cross-validation as :func:`pests.images.classifier.cross_validated` (stratified 5-fold, fixed seed,
the a-priori model; nothing tuned on the folds) runs on several feature sets, so a reader can see what the
model relies on:

- **whole image, colour + texture**: the model as trained by ``orchard images train``;
- **leaf only** (background masked with :func:`pests.images.features.leaf_mask`);
- **texture only** (no colour features), whole image and leaf only;
- **background only**: features of the pixels outside the leaf mask. If the background alone predicts the
class
  well, the photo setup (paper, light, session) leaks the label, and the "whole image" accuracy overstates
  what the model would do in the field.

Run ``python -m pests.images.evaluate --write-docs`` from the repository root to refresh the figures in
``docs/images.md`` (between the ``images-evaluation`` markers) and ``docs/img/images_confusion.png``.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchard.config import sample_data_dir
from pests.images.classifier import choose_threshold, confusion_figure, cross_validated
from pests.images.features import FeatureSettings, colour_columns, leaf_mask, load_rgb, masked_features
from pests.images.labels import normalise_label
from pests.images.validate import parameters

REGIONS = ("whole", "leaf", "background")
#: JPEG quality of the re-saved test photos (a typical phone camera setting).
JPEG_QUALITY = 85
#: Evaluation variants: name -> (region, colour features used, what it tells).
VARIANTS = {
    "whole image, colour + texture": ("whole", True, "the model as trained"),
    "leaf only (background masked), colour + texture": ("leaf", True, "is the disease on the leaf enough?"),
    "whole image, texture only (no colour)": ("whole", False, "how much rests on colour"),
    "leaf only, texture only": ("leaf", False, "leaf texture alone"),
    "background only, colour + texture": ("background", True, "does the photo setup leak the label?"),
    "whole image, held-out photos re-saved as JPEG": (
        "jpeg",
        True,
        "trained on the originals; does the file format matter?",
    ),
}
#: Target precisions shown in the threshold trade-off table.
THRESHOLD_TARGETS = (0.90, 0.95, 0.97, 0.99)
DOC_START, DOC_END = "<!-- images-evaluation:start -->", "<!-- images-evaluation:end -->"


@dataclass
class FeatureTable:
    """Features of a labelled image collection for every region, computed once."""

    files: list[Path]
    labels: np.ndarray
    features: dict[str, np.ndarray]  # region -> (n_images, n_features); background rows NaN without a mask;
    #                                     "jpeg": whole-image features of the photo re-saved as JPEG
    mask_found: np.ndarray  # bool per image
    settings: FeatureSettings
    seconds: float


def labelled_images(root: Path | None = None) -> tuple[list[Path], np.ndarray]:
    """Image files under ``root`` (default ``sample_data/leaf_images``) and labels from their folder names."""
    root = Path(root) if root else sample_data_dir() / "leaf_images"
    files = sorted(p for p in root.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    labels = np.array([normalise_label(p.parent.name) for p in files])
    return files, labels


def jpeg_copy(path, quality: int = JPEG_QUALITY) -> bytes:
    """The image re-saved as an RGB JPEG of the given quality (bytes)."""
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def feature_table(files, labels, settings: FeatureSettings | None = None, jpeg: bool = True) -> FeatureTable:
    """Whole-image, leaf-only and background-only features of every image (one decode and mask each).

    With ``jpeg``, also the whole-image features of a JPEG copy of each image.
    """
    settings = settings or FeatureSettings.from_parameters()
    started = time.perf_counter()
    rows = {r: [] for r in (*REGIONS, "jpeg")}
    found = []
    for path in files:
        rgb = load_rgb(path, settings.size_px)
        mask = leaf_mask(rgb, settings.min_leaf_fraction, settings.max_leaf_fraction)
        if mask is None:
            whole = masked_features(rgb, [None], settings)[0]
            leaf, background = whole, np.full(len(whole), np.nan)
        else:
            whole, leaf, background = masked_features(rgb, [None, mask, ~mask], settings)
        rows["whole"].append(whole)
        rows["leaf"].append(leaf)
        rows["background"].append(background)
        if jpeg:
            rows["jpeg"].append(
                masked_features(load_rgb(jpeg_copy(path), settings.size_px), [None], settings)[0]
            )
        found.append(mask is not None)
    return FeatureTable(
        files=list(files),
        labels=np.asarray(labels).astype(str),
        features={r: np.vstack(v) for r, v in rows.items() if v},
        mask_found=np.array(found),
        settings=settings,
        seconds=time.perf_counter() - started,
    )


def evaluate(table: FeatureTable, params=None, variants=None) -> dict[str, dict]:
    """Cross-validated metrics for each variant (see :data:`VARIANTS`) on one feature table.

    Images without a leaf mask are left out of the background-only variant (their count is reported).
    """
    p = params if params is not None else parameters()
    colour = colour_columns(table.settings)
    results = {}
    for name in variants or [v for v in VARIANTS if VARIANTS[v][0] in table.features]:
        region, with_colour, meaning = VARIANTS[name]
        X, X_test = table.features["whole" if region == "jpeg" else region], None
        if region == "jpeg":
            X_test = table.features["jpeg"]
        if not with_colour:
            X = X[:, ~colour]
        keep = ~np.isnan(X).any(axis=1)
        metrics = cross_validated(
            X[keep],
            table.labels[keep],
            folds=int(p["classifier.folds"]),
            seed=int(p["classifier.seed"]),
            inverse_regularisation=float(p["classifier.inverse_regularisation"]),
            target_precision=float(p["classifier.target_precision"]),
            X_test=None if X_test is None else X_test[keep],
        )
        metrics["variant"] = {
            "region": region,
            "colour": with_colour,
            "meaning": meaning,
            "images_left_out": int((~keep).sum()),
            "n_features": int(X.shape[1]),
        }
        results[name] = metrics
    return results


# ----------------------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------------------
def _pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f} %"


def markdown_report(results: dict[str, dict], table: FeatureTable) -> str:
    """The evaluation section of docs/images.md (markdown tables)."""
    main = results["whole image, colour + texture"]
    lines = [
        f"Figures written by `python -m pests.images.evaluate --write-docs` on {len(table.files)} images "
        f"({', '.join(f'{k} {v}' for k, v in main['class_counts'].items())}); stratified "
        f"{main['cv']['folds']}-fold cross-validation, shuffled with seed {main['cv']['seed']}; "
        "every figure is "
        "from out-of-fold predictions. The leaf mask was found on "
        f"{int(table.mask_found.sum())} of {len(table.files)} images.",
        "",
        "| feature set | accuracy | balanced accuracy | fold accuracies | majority-class rate "
        "| what it tells |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in results.items():
        folds = ", ".join(f"{100 * a:.0f}" for a in m["fold_accuracies"])
        left = m["variant"]["images_left_out"]
        note = m["variant"]["meaning"] + (
            f" ({left} image{'s' if left > 1 else ''} without a mask left out)" if left else ""
        )
        lines.append(
            f"| {name} | **{_pct(m['accuracy'])}** | {_pct(m['balanced_accuracy'])} | {folds} | "
            f"{_pct(m['majority_rate'])} ({m['majority_class']}) | {note} |"
        )
    lines += [
        "",
        "Per class, whole image, colour + texture (the trained model):",
        "",
        "| class | images | precision | recall | F1 |",
        "|---|---|---|---|---|",
    ]
    for label, c in main["per_class"].items():
        lines.append(
            f"| {label} | {c['support']} | {_pct(c['precision'])} | {_pct(c['recall'])} | {_pct(c['f1'])} |"
        )
    labels = main["confusion_matrix"]["labels"]
    lines += [
        "",
        "Confusion matrix (rows: true class, columns: predicted class):",
        "",
        "| true \\ predicted | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    for label, row in zip(labels, main["confusion_matrix"]["matrix"], strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    t = main["threshold"]
    lines += [
        "",
        f"Calibration (out-of-fold): log-loss {main['log_loss']:.3f}, Brier score {main['brier_score']:.3f}, "
        f"expected calibration error {main['expected_calibration_error']:.3f}. Uncertainty threshold "
        f"{t['threshold']:.2f}: {_pct(t['coverage'])} of the photos get an answer at or above it, and "
        f"{_pct(t['accuracy_above'])} of those answers are right (target {_pct(t['target_precision'])}; "
        "set on the same out-of-fold predictions, so this figure is optimistic).",
        "",
        "Other targets (the same out-of-fold predictions; an agronomist can choose the trade-off):",
        "",
        "| target precision | threshold | photos answered | right among answered |",
        "|---|---|---|---|",
    ]
    proba, classes = main["oof_probability"], main["classes"]
    labels_seen = table.labels[~np.isnan(table.features["whole"]).any(axis=1)]
    correct = classes[np.argmax(proba, axis=1)] == labels_seen
    for target in THRESHOLD_TARGETS:
        row = choose_threshold(correct, proba.max(axis=1), target)
        lines.append(
            f"| {_pct(target)} | {row['threshold']:.2f} | {_pct(row['coverage'])} | "
            f"{_pct(row['accuracy_above'])} |"
        )
    lines += [
        "",
        f"Feature extraction took {table.seconds:.1f} s for {len(table.files)} images (3 regions and a "
        "JPEG copy each) on the (shared, 2-core) machine that wrote this page.",
    ]
    return "\n".join(lines)


def write_docs(results: dict[str, dict], table: FeatureTable, docs_dir: Path | None = None) -> Path:
    """Replace the evaluation section of docs/images.md and redraw docs/img/images_confusion.png."""
    docs = Path(docs_dir) if docs_dir else Path(__file__).resolve().parents[2] / "docs"
    page = docs / "images.md"
    text = page.read_text(encoding="utf-8")
    if DOC_START not in text or DOC_END not in text:
        raise SystemExit(f"{page}: markers {DOC_START} / {DOC_END} not found; add them where the figures go.")
    body = markdown_report(results, table)
    text = re.sub(
        re.escape(DOC_START) + ".*?" + re.escape(DOC_END),
        lambda _: f"{DOC_START}\n{body}\n{DOC_END}",
        text,
        flags=re.S,
    )
    page.write_text(text, encoding="utf-8")
    (docs / "img").mkdir(exist_ok=True)
    main = results["whole image, colour + texture"]
    confusion_figure(
        main,
        docs / "img" / "images_confusion.png",
        title=f"Rauf et al. 2019 leaves, 5-fold CV\naccuracy {main['accuracy']:.0%} "
        f"(majority class {main['majority_rate']:.0%})",
    )
    masked = results["leaf only (background masked), colour + texture"]
    confusion_figure(
        masked,
        docs / "img" / "images_confusion_leaf_only.png",
        title=f"leaf only (background masked), 5-fold CV\naccuracy {masked['accuracy']:.0%}",
    )
    return page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="labelled image folder (default sample_data)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/images.md and its figures")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parser.parse_args(argv)
    files, labels = labelled_images(args.root)
    table = feature_table(files, labels)
    results = evaluate(table)
    if args.json:
        print(
            json.dumps(
                {
                    k: {kk: vv for kk, vv in v.items() if kk not in ("oof_probability", "classes")}
                    for k, v in results.items()
                },
                indent=1,
            )
        )
    else:
        print(markdown_report(results, table))
    if args.write_docs:
        print(f"wrote {write_docs(results, table)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
