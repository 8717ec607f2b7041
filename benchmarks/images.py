"""Benchmark the photo classifier: training on the 168 sample leaf photos and on 504 (augmented), identifying
one.

Training = features of every photo + 5-fold cross-validation + final fit + writing the model folder, as
``orchard images train`` does (without the database). The 504-photo run uses each sample photo three times: as
it is, mirrored left-right, and rotated 90° (the augmented copies are made from the decoded arrays, so they
skip one PNG decode each; say so when quoting it). Identification: *cold* is a new Python process that imports
the toolkit, loads the model (skops) and identifies one photo; *warm* is one more photo with the model loaded.
The reference, measured in the same run, is Pillow decoding the same photo (``Image.open(...).load()``).

Run from the repository root::

    .venv/bin/python benchmarks/images.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine  # noqa: E402

from pests.images import classifier, evaluate, features  # noqa: E402


def _train(rgbs, labels, out_dir) -> tuple[float, float, dict]:
    settings = features.FeatureSettings.from_parameters()
    started = time.perf_counter()
    X = np.vstack([features.image_features(rgb, settings) for rgb in rgbs])
    feature_s = time.perf_counter() - started
    manifest = [{"sha256": f"row{i}", "label": label} for i, label in enumerate(labels)]
    metrics = classifier.fit_and_save(X, labels, manifest, out_dir=out_dir, settings=settings)
    return feature_s, time.perf_counter() - started, metrics


def main() -> None:
    import PIL
    import skimage
    import sklearn

    started = time.perf_counter()  # one-time imports (skops.io loads scikit-learn's estimator registry)
    import matplotlib.pyplot  # noqa: F401
    import skops.io  # noqa: F401

    imports_s = time.perf_counter() - started
    files, labels = evaluate.labelled_images()
    settings = features.FeatureSettings.from_parameters()
    photo = next(p for p in files if p.parent.name == "canker")

    started = time.perf_counter()
    rgbs = [features.load_rgb(p, settings.size_px) for p in files]
    decode_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        f168, t168, m168 = _train(rgbs, labels, model_dir)
        load_time = t168 + decode_s

        augmented = rgbs + [rgb[:, ::-1] for rgb in rgbs] + [np.rot90(rgb) for rgb in rgbs]
        f504, t504, m504 = _train(augmented, np.concatenate([labels] * 3), Path(tmp) / "model504")

        code = (
            "import time; t = time.perf_counter(); from pests.images import classifier; "
            f"r = classifier.identify({str(photo)!r}, {str(model_dir)!r}); "
            "print(time.perf_counter() - t, r['top'][0]['label'])"
        )
        cold = []
        for _ in range(3):
            result = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            )
            cold.append(float(result.stdout.split()[0]))
        started = time.perf_counter()
        model = classifier.load_model(model_dir)
        load_model_s = time.perf_counter() - started
        warm = []
        for _ in range(20):
            started = time.perf_counter()
            classifier.identify(photo, model=model)
            warm.append(time.perf_counter() - started)

    from PIL import Image

    decode_one = []
    for _ in range(20):
        started = time.perf_counter()
        with Image.open(photo) as image:
            image.load()
        decode_one.append(time.perf_counter() - started)
    warm_s, decode_one_s = statistics.median(warm), statistics.median(decode_one)

    described = machine(
        numpy=np.__version__,
        scikit_learn=sklearn.__version__,
        scikit_image=skimage.__version__,
        pillow=PIL.__version__,
    )
    print(f"machine: {described}")
    print(f"one-time imports of skops.io and matplotlib (not counted below): {imports_s:.2f} s")
    print(f"decode + resize 168 photos: {decode_s:.2f} s")
    print(
        f"train on 168 photos: {load_time:.2f} s in all = decode {decode_s:.2f} s + features {f168:.2f} s + "
        f"5-fold CV, final fit and saving {t168 - f168:.2f} s (CV accuracy {m168['accuracy']:.3f})"
    )
    print(
        f"train on 504 photos (168 x original, mirrored, rotated; augmented copies not decoded again): "
        f"{t504 + decode_s:.2f} s = features {f504:.2f} s + CV, fit and saving {t504 - f504:.2f} s "
        f"(CV accuracy {m504['accuracy']:.3f}; copies of one photo may fall in different folds, "
        "so this accuracy "
        "is optimistic and is not reported)"
    )
    print(
        f"identify one photo, cold (new process: imports, skops model load, identify): median "
        f"{statistics.median(cold):.2f} s (runs: {', '.join(f'{c:.2f}' for c in cold)})"
    )
    print(f"load the model in a warm process: {load_model_s * 1000:.0f} ms")
    print(
        f"identify one photo, warm: median {warm_s * 1000:.1f} ms; Pillow decode of the same photo "
        f"{decode_one_s * 1000:.2f} ms (ratio {warm_s / decode_one_s:.0f}x)"
    )


if __name__ == "__main__":
    main()
