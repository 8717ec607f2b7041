"""`orchard images add|list|verify|export-manifest|train` and `orchard identify` through the CLI."""

from __future__ import annotations

import csv
import json

from leaf_image_helpers import image_bytes

COLOURS = {"healthy": (50, 120, 40), "greening": (190, 180, 60)}


def _labelled_folder(root, per_class=5):
    for label, colour in COLOURS.items():
        (root / label).mkdir(parents=True)
        for seed in range(per_class):
            (root / label / f"{label}_{seed}.png").write_bytes(image_bytes("PNG", seed=seed, colour=colour))
    return root


def test_add_one_photo_then_list_and_verify(image_home, tmp_path, run_cli):
    photo = tmp_path / "leaf.jpg"
    photo.write_bytes(image_bytes(seed=1))
    code, out, err = run_cli(
        [
            "images",
            "add",
            str(photo),
            "--label",
            "canker",
            "--plot",
            "P1",
            "--collector",
            "zhang",
            "--user",
            "grower_a",
            "--date",
            "2024-05-01",
        ]
    )
    assert code == 0, err
    assert "added sample 1: leaf.jpg (canker)" in out and "1 added, 0 already in the library" in out
    code, out, _ = run_cli(["images", "add", str(photo), "--user", "grower_a"])
    assert code == 0 and "already in the library as sample 1" in out
    code, out, _ = run_cli(["images", "list", "--json", "--user", "grower_b"])
    assert code == 0 and json.loads(out) == []
    code, out, _ = run_cli(["images", "list", "--json", "--unverified"])  # operator: every sample
    [sample] = json.loads(out)
    assert (sample["label"], sample["plot_id"], sample["collector"], sample["verified"]) == (
        "canker",
        "P1",
        "zhang",
        False,
    )
    code, _, err = run_cli(["images", "verify", "1", "--label", "black_spot", "--user", "grower_a"])
    assert code == 1 and err.strip() == (
        "orchard: error: user 'grower_a' is a grower; only agronomists and admins "
        "may verify or relabel photos."
    )
    code, out, _ = run_cli(["images", "verify", "1", "--label", "black_spot", "--user", "agro"])
    assert code == 0 and "sample 1 verified as black_spot by agro" in out
    code, out, _ = run_cli(["images", "list", "--json", "--verified", "--label", "black_spot"])
    assert [s["sample_id"] for s in json.loads(out)] == [1]


def test_bad_photos_are_refused_with_one_line(image_home, tmp_path, run_cli):
    fake = tmp_path / "fake.jpg"
    fake.write_text("not a photo")
    code, out, err = run_cli(["images", "add", str(fake)])
    assert code == 1 and out == ""
    assert (
        err.strip().startswith("orchard: error: ")
        and "not an image" in err
        and len(err.strip().splitlines()) == 1
    )
    photo = tmp_path / "leaf.jpg"
    photo.write_bytes(image_bytes(seed=2))
    code, _, err = run_cli(["images", "add", str(photo), "--plot", "P2", "--user", "grower_a"])
    assert code == 1 and "plot P2 is not one of yours" in err


def test_folder_import_with_a_bad_photo_adds_nothing_and_says_why(image_home, tmp_path, run_cli):
    home, _ = image_home
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(image_bytes(seed=3))
    (folder / "b.webp").write_bytes(image_bytes("WEBP", seed=4))
    (folder / "broken.png").write_bytes(image_bytes("PNG", seed=5)[:80])
    code, out, err = run_cli(["images", "add", str(folder), "--label", "leaf_miner", "--json"])
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "nothing was added" in err
    assert str(folder / "broken.png") in err and "damaged" in err
    assert not (home / "images").exists() or list((home / "images").rglob("*.*")) == []
    (folder / "broken.png").unlink()
    code, out, err = run_cli(["images", "add", str(folder), "--label", "leaf_miner", "--json"])
    assert code == 0, err
    assert json.loads(out) == {"added": [1, 2], "duplicates": [], "skipped": []}
    assert len(list((home / "images").rglob("*.*"))) == 2


def test_train_identify_save_and_export(image_home, tmp_path, run_cli):
    home, _ = image_home
    folder = _labelled_folder(tmp_path / "labelled")
    code, out, err = run_cli(
        [
            "images",
            "add",
            str(folder),
            "--labels-from-folders",
            "--label-source",
            "agronomist",
            "--collector",
            "survey team",
        ]
    )
    assert code == 0, err
    assert "10 added" in out
    code, out, err = run_cli(["identify", str(folder / "healthy" / "healthy_0.png")])
    assert code == 1 and "no identification model in" in err and "orchard images train" in err
    code, out, err = run_cli(["images", "train", "--json"])
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["n_samples"] == 10 and metrics["majority_rate"] == 0.5 and metrics["accuracy"] == 1.0
    assert (home / "models" / "images" / "model.skops").is_file()
    photo = tmp_path / "new.png"
    photo.write_bytes(image_bytes("PNG", seed=77, colour=COLOURS["greening"]))
    code, out, err = run_cli(
        ["identify", str(photo), "--json", "--save", "--user", "grower_a", "--plot", "P1"]
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["top"][0]["label"] == "greening" and result["saved_sample_id"] == 11
    assert set(result) >= {"top", "uncertain", "threshold", "model_version"}
    code, out, _ = run_cli(["identify", str(photo)])
    assert code == 0 and "greening" in out and ("most likely: greening" in out or "uncertain" in out)
    code, out, _ = run_cli(["images", "list", "--json", "--user", "grower_a"])
    [saved] = json.loads(out)
    assert (saved["label_source"], saved["predicted_label"], saved["plot_id"]) == ("model", "greening", "P1")
    manifest = tmp_path / "manifest.csv"
    code, out, _ = run_cli(["images", "export-manifest", str(manifest)])
    assert code == 0 and f"wrote {manifest}" in out
    rows = list(csv.DictReader(manifest.open(encoding="utf-8")))
    assert len(rows) == 11 and {r["collector"] for r in rows[:10]} == {"survey team"}
    code, _, err = run_cli(["identify", str(photo), "--plot", "P1"])
    assert code == 1 and "--plot is only used with --save" in err
