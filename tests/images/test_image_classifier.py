"""Features, threshold, model files (skops only, never pickle), identification, training from the library."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from leaf_image_helpers import image_bytes

from orchard import store
from orchard.errors import InputError
from pests.images import classifier, features, library


# ----------------------------------------------------------------------------------------------------------
# Features
# ----------------------------------------------------------------------------------------------------------
def test_hsv_matches_colorsys():
    import colorsys

    rgb = np.array([[[1.0, 0.0, 0.0], [0.2, 0.6, 0.2], [0.9, 0.8, 0.1], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]]])
    expected = [colorsys.rgb_to_hsv(*px) for px in rgb[0]]
    np.testing.assert_allclose(features.rgb_to_hsv(rgb)[0], expected, atol=1e-6)


def test_feature_vector_layout_and_histograms():
    rgb = features.load_rgb(image_bytes("PNG", size=(80, 60), seed=1))
    assert rgb.shape == (60, 80, 3) and rgb.dtype == np.float32 and 0 <= rgb.min() and rgb.max() <= 1
    settings = features.FeatureSettings()
    x = features.image_features(rgb, settings)
    names = features.feature_names(settings)
    assert len(x) == len(names) == 16 + 8 + 8 + 4 + 10 + 18 + 12
    h = dict(zip(names, x, strict=True))
    assert sum(h[f"hue_hist_{i}"] for i in range(16)) == pytest.approx(1.0)
    assert sum(h[f"lbp_p16_r2_{i}"] for i in range(18)) == pytest.approx(1.0)
    assert features.colour_columns(settings).sum() == 36


def test_large_photos_are_reduced_to_the_feature_size():
    rgb = features.load_rgb(image_bytes("JPEG", size=(1200, 900), seed=2), size_px=256)
    assert max(rgb.shape[:2]) == 256


def test_leaf_mask_finds_a_leaf_on_a_card():
    rgb = np.full((128, 128, 3), 0.8, np.float32)  # light grey card
    rgb[30:100, 40:90] = (0.2, 0.5, 0.15)  # green leaf
    rgb[60:70, 85:90] = (0.15, 0.1, 0.05)  # dark necrotic margin (low saturation, kept)
    mask = features.leaf_mask(rgb)
    assert mask is not None
    assert mask[30:100, 40:90].mean() > 0.95 and mask[60:70, 85:90].all()
    assert mask.sum() == pytest.approx(70 * 50, rel=0.05)
    assert features.leaf_mask(np.full((64, 64, 3), 0.5, np.float32)) is None  # nothing there


def test_masked_features_describe_only_the_masked_pixels():
    rgb = np.full((64, 64, 3), 0.8, np.float32)
    rgb[16:48, 16:48] = (0.2, 0.5, 0.15)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    leaf, background = features.masked_features(rgb, [mask, ~mask])
    names = features.feature_names()
    value_mean = names.index("value_mean")
    assert leaf[value_mean] == pytest.approx(0.5) and background[value_mean] == pytest.approx(0.8)


# ----------------------------------------------------------------------------------------------------------
# Threshold and calibration
# ----------------------------------------------------------------------------------------------------------
def test_threshold_is_the_lowest_confidence_meeting_the_target():
    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True, False])
    # precision of the top-k: 1, 1, 1, 0.75, 0.8, 0.667 -> target 0.8 is met down to 0.6 (4 of 5 right)
    t = classifier.choose_threshold(correct, confidence, 0.8)
    assert t == {"threshold": 0.6, "coverage": pytest.approx(5 / 6), "accuracy_above": pytest.approx(0.8)}
    assert classifier.choose_threshold(correct, confidence, 0.95)["threshold"] == 0.8
    nothing = classifier.choose_threshold(np.array([False, False]), np.array([0.6, 0.4]), 0.9)
    assert nothing["coverage"] == 0.0 and nothing["threshold"] > 0.6


def test_expected_calibration_error():
    confidence = np.array([0.75] * 4 + [0.25] * 4)
    assert classifier.expected_calibration_error(np.array([1, 1, 1, 0] + [1, 0, 0, 0], bool), confidence) == 0
    assert classifier.expected_calibration_error(np.ones(8, bool), confidence) == pytest.approx(0.5)


# ----------------------------------------------------------------------------------------------------------
# A tiny model on synthetic photos
# ----------------------------------------------------------------------------------------------------------
COLOURS = {"healthy": (50, 120, 40), "greening": (190, 180, 60), "black_spot": (90, 60, 40)}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    rows, labels, manifest = [], [], []
    for label, colour in COLOURS.items():
        for seed in range(6):
            data = image_bytes("PNG", size=(64, 64), seed=seed, colour=colour)
            rows.append(features.image_features(features.load_rgb(data)))
            labels.append(label)
            manifest.append({"sha256": f"{label}{seed}", "label": label})
    metrics = classifier.fit_and_save(np.vstack(rows), labels, manifest, out_dir=folder)
    return folder, metrics


def test_model_folder_holds_model_metrics_and_manifest(tiny_model):
    folder, metrics = tiny_model
    assert {p.name for p in folder.iterdir()} >= {
        "model.skops",
        "model.json",
        "metrics.json",
        "training_manifest.csv",
        "confusion_matrix.png",
    }
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"] == 1.0  # three well-separated colours
    assert saved["majority_rate"] == pytest.approx(1 / 3)
    assert saved["confusion_matrix"]["matrix"] == [[6, 0, 0], [0, 6, 0], [0, 0, 6]]
    assert saved["cv"] == {"scheme": "stratified k-fold", "folds": 5, "shuffle": True, "seed": 20191}
    assert set(saved["per_class"]) == set(COLOURS)
    assert len((folder / "training_manifest.csv").read_text().splitlines()) == 19
    meta = json.loads((folder / "model.json").read_text())
    assert meta["classes"] == sorted(COLOURS) and meta["model_version"] == metrics["model_version"]


def test_identify_gives_three_classes_and_the_uncertain_flag(tiny_model, tmp_path):
    folder, _ = tiny_model
    photo = image_bytes("JPEG", size=(300, 200), seed=99, colour=COLOURS["greening"])
    result = classifier.identify(photo, folder)
    assert [t["label"] for t in result["top"]][0] == "greening" and len(result["top"]) == 3
    probabilities = [t["probability"] for t in result["top"]]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) == pytest.approx(1.0)
    assert result["top"][0]["name_zh"] == "柑橘黄龙病"
    assert result["label"] == ("uncertain" if result["uncertain"] else "greening")
    assert result["uncertain"] == (probabilities[0] < result["threshold"])
    # a copy of the model with a threshold no answer reaches says "uncertain"
    strict = tmp_path / "strict"
    strict.mkdir()
    for name in ("model.skops", "metrics.json"):
        (strict / name).write_bytes((folder / name).read_bytes())
    meta = json.loads((folder / "model.json").read_text())
    (strict / "model.json").write_text(json.dumps({**meta, "threshold": 0.999999}))
    uncertain = classifier.identify(photo, strict)
    assert uncertain["uncertain"] is True and uncertain["label"] == "uncertain"
    assert uncertain["top"] == result["top"]


def test_identify_validates_the_photo(tiny_model):
    with pytest.raises(InputError, match="not an image"):
        classifier.identify(b"GIF? no, plain text", tiny_model[0])


def test_no_model_is_one_sentence(tmp_path):
    with pytest.raises(
        InputError, match=r"no identification model in .*; train one with `orchard images train`\."
    ):
        classifier.load_model(tmp_path)


# ----------------------------------------------------------------------------------------------------------
# Safe loading
# ----------------------------------------------------------------------------------------------------------
class _Payload:
    """Unpickling this runs code: it writes a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def _model_copy(folder: Path, target: Path, model_bytes: bytes) -> Path:
    target.mkdir()
    (target / "model.skops").write_bytes(model_bytes)
    meta = json.loads((folder / "model.json").read_text())
    import hashlib

    meta["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()  # a consistent folder: only skops decides
    (target / "model.json").write_text(json.dumps(meta))
    return target


def test_a_pickle_is_refused_and_never_executed(tiny_model, tmp_path):
    marker = tmp_path / "marker.txt"
    payload = pickle.dumps(_Payload(marker))
    pickle.loads(payload)  # the payload is live: plain unpickling runs it
    assert marker.read_text() == "code ran"
    marker.unlink()
    folder = _model_copy(tiny_model[0], tmp_path / "pickled", payload)
    with pytest.raises(
        InputError, match="not a skops model file \\(not a zip archive; a pickle is never loaded\\)"
    ):
        classifier.load_model(folder)
    assert not marker.exists()


def test_a_zip_without_schema_is_refused(tiny_model, tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data.pkl", pickle.dumps([1, 2, 3]))
    folder = _model_copy(tiny_model[0], tmp_path / "zipped", archive.read_bytes())
    with pytest.raises(InputError, match="no schema.json in the archive"):
        classifier.load_model(folder)


def test_a_skops_file_with_types_outside_the_allow_list_is_refused(tiny_model, tmp_path):
    import operator

    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    hostile = make_pipeline(FunctionTransformer(operator.methodcaller("copy")), LogisticRegression())
    path = tmp_path / "hostile.skops"
    sio.dump(hostile, path)
    folder = _model_copy(tiny_model[0], tmp_path / "hostile", path.read_bytes())
    with pytest.raises(InputError, match=r"types that are not allowed \(operator.methodcaller\)"):
        classifier.load_model(folder)


def test_a_skops_file_of_another_estimator_is_refused(tiny_model, tmp_path):
    import skops.io as sio
    from sklearn.preprocessing import StandardScaler

    path = tmp_path / "scaler.skops"
    sio.dump(StandardScaler().fit(np.random.default_rng(0).random((5, 3))), path)
    folder = _model_copy(tiny_model[0], tmp_path / "scaler", path.read_bytes())
    with pytest.raises(InputError, match="holds a StandardScaler, not the toolkit's image classifier"):
        classifier.load_model(folder)


def test_a_model_file_not_matching_model_json_is_refused(tiny_model, tmp_path):
    folder, _ = tiny_model
    copy = tmp_path / "swapped"
    copy.mkdir()
    (copy / "model.skops").write_bytes((folder / "model.skops").read_bytes())
    meta = json.loads((folder / "model.json").read_text())
    (copy / "model.json").write_text(json.dumps({**meta, "model_sha256": "0" * 64}))
    with pytest.raises(InputError, match="does not match model.json"):
        classifier.load_model(copy)
    (copy / "model.json").write_text("{not json")
    with pytest.raises(InputError, match="model description is damaged"):
        classifier.load_model(copy)


# ----------------------------------------------------------------------------------------------------------
# Training from the library and saving identifications
# ----------------------------------------------------------------------------------------------------------
def test_train_from_the_library_and_save_an_identification(image_home):
    home, engine = image_home
    with store.session_scope(engine) as s:
        with pytest.raises(InputError, match="training needs at least two classes with 5 or more verified"):
            classifier.train(s)
        for label in ("healthy", "greening"):
            for seed in range(5):
                sample = library.add_image(
                    s,
                    "grower_a",
                    image_bytes("PNG", seed=seed, colour=COLOURS[label]),
                    label=label,
                    plot_id="P1",
                )
                library.verify(s, "agro", sample["sample_id"], label)
        black = library.add_image(
            s,
            "agro",
            image_bytes("PNG", seed=7, colour=COLOURS["black_spot"]),
            label="black_spot",
            label_source="agronomist",
        )
        assert black["verified"] and black["verified_by"] == "agro"
        metrics = classifier.train(s, "agro")
    assert metrics["n_samples"] == 10 and metrics["excluded_classes"] == {"black_spot": 1}
    assert Path(metrics["model_dir"]) == home / "models" / "images"
    assert json.loads((home / "models" / "images" / "metrics.json").read_text())["excluded_classes"] == {
        "black_spot": 1
    }
    photo = image_bytes(
        "PNG", seed=123, colour=COLOURS["healthy"]
    )  # PNG as in training (JPEG smooths texture)
    result = classifier.identify(photo)
    assert result["top"][0]["label"] == "healthy" and len(result["top"]) == 2  # only two classes trained
    with store.session_scope(engine) as s:
        saved = classifier.save_identification(s, "grower_a", photo, result, plot_id="P1")
    assert saved["label_source"] == "model" and saved["predicted_label"] == "healthy"
    assert saved["verified"] is False and saved["label"] == ("unknown" if result["uncertain"] else "healthy")
    assert saved["predicted_probability"] == pytest.approx(result["top"][0]["probability"])
