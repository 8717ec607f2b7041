"""Honest evaluation on the real labelled leaf photos (Rauf et al. 2019, CC BY 4.0) in
sample_data/leaf_images.

The model and its settings were fixed before this evaluation (see pests/images/classifier.py); the test folds
are never used to choose anything. The margin asked of the model: cross-validated accuracy at least 50
percentage points above the majority-class rate (40 of 168 images = 23.8 %), i.e. above 73.8 %.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from leaf_image_helpers import LEAF_IMAGES

from pests.images import evaluate

MARGIN = 0.50  # required accuracy above the majority-class rate
VARIANTS = [
    "whole image, colour + texture",
    "leaf only (background masked), colour + texture",
    "whole image, texture only (no colour)",
    "background only, colour + texture",
]


@pytest.fixture(scope="module")
def results():
    files, labels = evaluate.labelled_images(LEAF_IMAGES)
    table = evaluate.feature_table(files, labels, jpeg=False)  # features once for every variant
    return table, evaluate.evaluate(table, variants=VARIANTS)


def test_the_sample_images_are_the_documented_subset():
    files, labels = evaluate.labelled_images(LEAF_IMAGES)
    with open(LEAF_IMAGES / "manifest.csv", encoding="utf-8") as f:
        manifest = list(csv.DictReader(f))
    assert sorted(str(p.relative_to(LEAF_IMAGES)) for p in files) == sorted(r["file"] for r in manifest)
    assert dict(zip(*np.unique(labels, return_counts=True), strict=True)) == {
        "black_spot": 40,
        "canker": 40,
        "greening": 40,
        "healthy": 40,
        "melanose": 8,
    }


def test_cross_validated_accuracy_beats_the_majority_rate_by_a_wide_margin(results):
    _, by_variant = results
    main = by_variant["whole image, colour + texture"]
    assert main["majority_rate"] == pytest.approx(40 / 168)
    assert main["cv"] == {"scheme": "stratified k-fold", "folds": 5, "shuffle": True, "seed": 20191}
    assert main["accuracy"] > main["majority_rate"] + MARGIN, main["accuracy"]
    assert main["balanced_accuracy"] > 0.75
    assert min(main["fold_accuracies"]) > main["majority_rate"] + 0.4  # no lucky fold carries it
    matrix = np.array(main["confusion_matrix"]["matrix"])
    assert matrix.sum() == 168 and matrix.sum(axis=1).tolist() == [40, 40, 40, 40, 8]
    assert np.trace(matrix) / 168 == pytest.approx(main["accuracy"])
    for label, c in main["per_class"].items():  # every class is found, not only the big ones
        assert c["recall"] > 0.6, label


def test_masked_background_and_no_colour_accuracies_are_reported(results):
    table, by_variant = results
    assert table.mask_found.sum() >= 160  # the leaf-on-paper mask works on the lab photos
    leaf = by_variant["leaf only (background masked), colour + texture"]
    texture = by_variant["whole image, texture only (no colour)"]
    background = by_variant["background only, colour + texture"]
    # the leaf alone, and texture alone, still carry most of the signal
    assert leaf["accuracy"] > leaf["majority_rate"] + 0.3
    assert texture["accuracy"] > texture["majority_rate"] + 0.3
    assert texture["variant"]["n_features"] == 40
    # ... but the background alone predicts the class too: the photo setup leaks the label (documented)
    assert background["accuracy"] > background["majority_rate"] + 0.3
    assert background["variant"]["images_left_out"] == int((~table.mask_found).sum())


def test_out_of_fold_probabilities_are_usable(results):
    _, by_variant = results
    main = by_variant["whole image, colour + texture"]
    assert main["expected_calibration_error"] < 0.15
    t = main["threshold"]
    assert t["accuracy_above"] >= t["target_precision"] == 0.95 and 0.3 < t["coverage"] <= 1.0
