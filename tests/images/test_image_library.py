"""The image library: validation, content addressing, EXIF, access rules, verification, manifest, rollback."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime

import pytest
from leaf_image_helpers import LEAF_IMAGES, gps_exif, image_bytes, one_sentence

from orchard import store
from orchard.errors import AccessError, InputError
from pests.images import library
from pests.images.validate import check_image, dms_to_degrees


def _files(home):
    return (
        sorted(p for p in (home / "images").rglob("*") if p.is_file()) if (home / "images").exists() else []
    )


def _count(engine):
    with store.session_scope(engine) as s:
        return len(library.all_samples(s))


# ----------------------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------------------
def test_same_image_twice_is_stored_once(image_home, tmp_path):
    home, engine = image_home
    data = image_bytes(seed=1)
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes(data)
    with store.session_scope(engine) as s:
        first = library.add_image(s, "grower_a", data, label="canker", plot_id="P1", original_name="a.jpg")
    with store.session_scope(engine) as s:
        second = library.add_image(s, "agro", copy, label="healthy")  # same bytes, other name and label
    assert first["duplicate"] is False and second["duplicate"] is True
    assert second["sample_id"] == first["sample_id"] and second["label"] == "canker"  # nothing changed
    assert _count(engine) == 1
    files = _files(home)
    sha = hashlib.sha256(data).hexdigest()
    assert [p.relative_to(home).as_posix() for p in files] == [f"images/{sha[:2]}/{sha}.jpg"]
    assert files[0].read_bytes() == data
    assert library.image_path(first) == files[0]


def test_a_truncated_jpeg_is_refused_and_nothing_is_stored(image_home, tmp_path):
    home, engine = image_home
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(image_bytes(size=(200, 150))[:-400])
    with pytest.raises(InputError, match="damaged and cannot be decoded") as info:
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", broken, plot_id="P1")
    assert one_sentence(str(info.value)) and str(broken) in str(info.value)
    assert _count(engine) == 0 and _files(home) == []


def test_a_png_with_a_bad_checksum_is_refused():
    data = bytearray(image_bytes("PNG", size=(40, 40)))
    data[60] ^= 0xFF  # inside the first IDAT chunk: the CRC no longer matches
    with pytest.raises(InputError, match="damaged"):
        check_image(bytes(data), name="leaf.png")


def test_a_text_file_named_jpg_is_refused(image_home, tmp_path):
    home, engine = image_home
    fake = tmp_path / "leaf.jpg"
    fake.write_text("this is not a photo\n" * 20)
    with pytest.raises(InputError, match="not an image") as info:
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", fake)
    assert one_sentence(str(info.value))
    assert _files(home) == []


def test_an_image_over_the_size_limit_is_refused_before_reading(image_home, tmp_path):
    home, engine = image_home
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:  # a JPEG header then 21 MB: the default limit is 20 MB
        f.write(image_bytes()[:100])
        f.seek(21 * 1024 * 1024)
        f.write(b"\0")
    with pytest.raises(InputError, match=r"more than the 20 MB limit") as info:
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", big)
    assert one_sentence(str(info.value))
    assert _files(home) == []


def test_too_many_pixels_is_refused_before_decoding():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(buffer, format="PNG")  # 60 Mpx in a few kB
    with pytest.raises(InputError, match="60 Mpx .* more than the 50 Mpx limit") as info:
        check_image(buffer.getvalue(), name="bomb.png")
    assert one_sentence(str(info.value))


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_formats_other_than_jpeg_png_webp_are_refused(fmt):
    with pytest.raises(InputError, match=f"the image is {fmt}, not JPEG, PNG or WebP"):
        check_image(image_bytes(fmt), name=f"leaf.{fmt.lower()}")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted(fmt):
    checked = check_image(image_bytes(fmt, size=(45, 33)))
    assert (checked.image_format, checked.width_px, checked.height_px) == (fmt, 45, 33)


def test_an_empty_upload_is_refused():
    with pytest.raises(InputError, match="the image is empty"):
        check_image(b"", name="upload.jpg")


# ----------------------------------------------------------------------------------------------------------
# EXIF
# ----------------------------------------------------------------------------------------------------------
def test_dms_to_decimal_degrees():
    # 29°33'36" N = 29 + 33/60 + 36/3600 = 29.56; south and west are negative
    assert dms_to_degrees((29, 33, 36), "N") == pytest.approx(29.56)
    assert dms_to_degrees((106, 30, 0), "W") == pytest.approx(-106.5)
    assert dms_to_degrees((29, 33, 36), b"S") == pytest.approx(-29.56)
    assert dms_to_degrees(None, "N") is None


def test_gps_and_capture_time_are_read_from_exif(image_home):
    _, engine = image_home
    data = image_bytes(exif=gps_exif((30, 48, 0), "N", (108, 22, 48), "E", taken="2024:05:01 09:30:00"))
    with store.session_scope(engine) as s:
        sample = library.add_image(s, "grower_a", data, plot_id="P1", taken="2020-01-01")
    assert sample["lat"] == pytest.approx(30.8) and sample["lon"] == pytest.approx(108.38)
    # no OffsetTimeOriginal: camera time is China Standard Time, 09:30 +08:00 = 01:30 UTC; EXIF wins over
    # --date
    assert sample["taken_utc"] == datetime(2024, 5, 1, 1, 30, tzinfo=UTC)


def test_exif_offset_time_is_used_when_present():
    checked = check_image(
        image_bytes(
            exif=gps_exif((1, 0, 0), "S", (2, 0, 0), "W", taken="2024:05:01 09:30:00", offset="-03:00")
        )
    )
    assert checked.taken_utc == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert (checked.lat, checked.lon) == (pytest.approx(-1.0), pytest.approx(-2.0))


def test_without_exif_the_given_date_is_local_midnight(image_home):
    _, engine = image_home
    with store.session_scope(engine) as s:
        sample = library.add_image(s, "grower_a", image_bytes(seed=3), taken="2024-06-02")
    assert sample["taken_utc"] == datetime(2024, 6, 1, 16, 0, tzinfo=UTC)
    assert sample["lat"] is None and sample["lon"] is None
    with pytest.raises(InputError, match="has no time zone"):
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", image_bytes(seed=4), taken=datetime(2024, 6, 2, 10))


# ----------------------------------------------------------------------------------------------------------
# Access
# ----------------------------------------------------------------------------------------------------------
def test_who_may_add(image_home):
    _, engine = image_home
    with pytest.raises(AccessError, match="plot P2 is not one of yours"):
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", image_bytes(seed=5), plot_id="P2")
    for user in ("ext", "admin"):
        with pytest.raises(AccessError, match="may not add photos"):
            with store.session_scope(engine) as s:
                library.add_image(s, user, image_bytes(seed=5))
    with pytest.raises(AccessError, match="only agronomists may give an agronomist's label"):
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", image_bytes(seed=5), label="canker", label_source="agronomist")
    with pytest.raises(AccessError, match="unknown user 'nobody'"):
        with store.session_scope(engine) as s:
            library.add_image(s, "nobody", image_bytes(seed=5))
    with pytest.raises(InputError, match="'cankr' is not a known pest or disease"):
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", image_bytes(seed=5), label="cankr")
    assert _count(engine) == 0


def test_who_sees_what(image_home):
    _, engine = image_home
    with store.session_scope(engine) as s:
        a = library.add_image(
            s, "grower_a", image_bytes(seed=10), label="canker", plot_id="P1", collector="Zhang"
        )
        b = library.add_image(s, "grower_b", image_bytes(seed=11), label="greening", plot_id="P2")
        c = library.add_image(s, "agro", image_bytes(seed=12), label="healthy", plot_id="P1", notes="on P1")
    with store.session_scope(engine) as s:
        # grower_a sees what they added and photos of their plot (added by the agronomist)
        assert [x["sample_id"] for x in library.list_samples(s, "grower_a")] == [
            a["sample_id"],
            c["sample_id"],
        ]
        assert [x["sample_id"] for x in library.list_samples(s, "grower_b")] == [b["sample_id"]]
        assert len(library.list_samples(s, "agro")) == 3 and len(library.list_samples(s, "admin")) == 3
        seen_by_extension = library.list_samples(s, "ext")
        assert len(seen_by_extension) == 3
        assert all(x[k] is None for x in seen_by_extension for k in library.PERSONAL_FIELDS)
        assert library.list_samples(s, "agro", label="black-spot") == []
        with pytest.raises(AccessError, match="plot P1 is not one of yours"):
            library.list_samples(s, "grower_b", plot_id="P1")
        # another grower's sample and a missing one: the same refusal (issue #18)
        refusals = []
        for sample_id in (a["sample_id"], 999):
            with pytest.raises(AccessError) as refused:
                library.get_sample(s, "grower_b", sample_id)
            refusals.append(str(refused.value).replace(str(sample_id), "N"))
        assert refusals[0] == refusals[1] == "sample N is not one of yours; check the sample id."


def test_a_photo_another_grower_has_is_added_as_the_growers_own(image_home):
    # Issue #18: adding a byte-identical copy of another grower's photo returned that photo's id, label,
    # time and storage path. Now the answer is the same as for a photo nobody has.
    _, engine = image_home
    with store.session_scope(engine) as s:
        a = library.add_image(s, "grower_a", image_bytes(seed=10), label="canker", plot_id="P1",
                              collector="Zhang", taken="2024-06-01T08:00+08:00")
    with store.session_scope(engine) as s:
        copy = library.add_image(s, "grower_b", image_bytes(seed=10))
        fresh = library.add_image(s, "grower_b", image_bytes(seed=11))
    assert copy["duplicate"] is False and copy["sample_id"] not in (a["sample_id"], None)
    assert (copy["label"], copy["taken_utc"], copy["plot_id"]) == ("unknown", None, None)
    assert copy["collector"] is None
    assert set(copy) == set(fresh) and copy["added_by"] == fresh["added_by"] == "grower_b"
    assert library.image_path(copy).read_bytes() == library.image_path(a).read_bytes()  # one file, shared
    with store.session_scope(engine) as s:
        assert [x["sample_id"] for x in library.list_samples(s, "grower_b")] == [copy["sample_id"],
                                                                                 fresh["sample_id"]]
        again = library.add_image(s, "grower_b", image_bytes(seed=10))  # their own duplicate: as before
        assert again["duplicate"] and again["sample_id"] == copy["sample_id"]
        assert library.add_image(s, "agro", image_bytes(seed=10))["sample_id"] == a["sample_id"]
        library.verify(s, "agro", a["sample_id"], "canker")
        library.verify(s, "agro", copy["sample_id"], "canker")
        assert [x["sample_id"] for x in library.training_samples(s)].count(a["sample_id"]) == 1
        assert copy["sample_id"] not in [x["sample_id"] for x in library.training_samples(s)]  # once


def test_verify_and_relabel(image_home):
    _, engine = image_home
    with store.session_scope(engine) as s:
        sample = library.add_image(s, "grower_a", image_bytes(seed=20), label="canker", plot_id="P1")
    assert sample["verified"] is False
    for user in ("grower_a", "ext"):
        with pytest.raises(AccessError, match="only agronomists and admins may verify"):
            with store.session_scope(engine) as s:
                library.verify(s, user, sample["sample_id"], "canker")
    with pytest.raises(InputError, match="'unknown' cannot be verified"):
        with store.session_scope(engine) as s:
            library.verify(s, "agro", sample["sample_id"], "unknown")
    with pytest.raises(InputError, match="sample 999 does not exist"):
        with store.session_scope(engine) as s:
            library.verify(s, "agro", 999, "canker")
    with store.session_scope(engine) as s:
        done = library.verify(s, "agro", sample["sample_id"], "black-spot")
    assert (done["label"], done["label_source"], done["verified_by"], done["verified"]) == (
        "black_spot",
        "agronomist",
        "agro",
        True,
    )
    assert done["verified_utc"] is not None
    with store.session_scope(engine) as s:
        assert [x["sample_id"] for x in library.list_samples(s, "agro", verified=True)] == [
            sample["sample_id"]
        ]
        assert library.list_samples(s, "agro", verified=False) == []
        assert [x["label"] for x in library.training_samples(s)] == ["black_spot"]
        with pytest.raises(AccessError, match="only agronomists and admins may train"):
            library.training_samples(s, "grower_a")


# ----------------------------------------------------------------------------------------------------------
# Row and file never diverge
# ----------------------------------------------------------------------------------------------------------
def test_a_rolled_back_transaction_removes_the_new_file(image_home):
    home, engine = image_home
    with pytest.raises(RuntimeError):
        with store.session_scope(engine) as s:
            library.add_image(s, "grower_a", image_bytes(seed=30), plot_id="P1")
            assert len(_files(home)) == 1  # written, not yet committed
            raise RuntimeError("something later in the same transaction failed")
    assert _count(engine) == 0 and _files(home) == []


def test_a_failed_insert_removes_the_new_file(image_home, monkeypatch):
    from sqlalchemy.exc import OperationalError

    home, engine = image_home
    with pytest.raises(Exception, match="database is locked"):
        with store.session_scope(engine) as s:

            def locked(*args, **kwargs):
                raise OperationalError("INSERT", {}, Exception("database is locked"))

            monkeypatch.setattr(s, "flush", locked)
            library.add_image(s, "grower_a", image_bytes(seed=31), plot_id="P1")
    assert _files(home) == []
    assert _count(engine) == 0


def test_a_rollback_keeps_files_of_committed_samples(image_home):
    home, engine = image_home
    data = image_bytes(seed=32)
    with store.session_scope(engine) as s:
        library.add_image(s, "grower_a", data)
    with pytest.raises(RuntimeError):
        with store.session_scope(engine) as s:
            assert library.add_image(s, "agro", data)["duplicate"]
            raise RuntimeError("abort")
    assert len(_files(home)) == 1 and _count(engine) == 1


def test_the_rollback_hook_keeps_a_file_that_a_committed_row_uses(image_home):
    # two processes adding the same new photo at once: the loser's rollback must not remove the winner's file
    home, engine = image_home
    with store.session_scope(engine) as s:
        winner = library.add_image(s, "grower_a", image_bytes(seed=33))
    winner_file = library.image_path(winner)
    orphan = home / "images" / "00" / "orphan.jpg"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x")
    from sqlalchemy.orm import Session

    with Session(engine) as loser:
        loser.info[library._NEW_FILES_KEY] = [(str(winner_file), winner["sha256"]), (str(orphan), "0" * 64)]
        library._remove_new_files(loser)
    assert winner_file.exists() and not orphan.exists()


def test_image_path_refuses_paths_outside_the_library(image_home):
    with pytest.raises(InputError, match="not inside the image library"):
        library.image_path({"stored_path": "../orchard.db"})
    with pytest.raises(InputError, match="is missing"):
        library.image_path({"stored_path": "images/ab/abc.jpg"})


# ----------------------------------------------------------------------------------------------------------
# Folders and the manifest
# ----------------------------------------------------------------------------------------------------------
def test_folder_import_reports_added_duplicates_and_skipped_files(image_home, tmp_path):
    home, engine = image_home
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(image_bytes(seed=40))
    (folder / "b.png").write_bytes(image_bytes("PNG", seed=41))
    (folder / "a_copy.JPG").write_bytes(image_bytes(seed=40))
    (folder / "notes.txt").write_text("field notes")
    with store.session_scope(engine) as s:
        report = library.add_folder(s, "grower_a", folder, label="red-mite", plot_id="P1", collector="Li")
    assert [x["original_name"] for x in report.added] == ["a.jpg", "b.png"]
    assert [x["original_name"] for x in report.duplicates] == ["a.jpg"]  # a_copy.JPG is a.jpg's bytes
    assert report.skipped == [str(folder / "notes.txt")]
    assert report.summary() == "2 added, 1 already in the library, 1 other files skipped"
    assert len(_files(home)) == 2
    with store.session_scope(engine) as s:
        assert {x["label"] for x in library.list_samples(s, "grower_a")} == {"red_mite"}


def test_a_folder_with_a_bad_photo_adds_nothing(image_home, tmp_path):
    home, engine = image_home
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(image_bytes(seed=42))
    (folder / "b.png").write_bytes(image_bytes("PNG", seed=43)[:80])
    (folder / "fake.jpg").write_text("not a photo")
    with pytest.raises(InputError, match=r"nothing was added, because 2 of 3 photos cannot be: .*b.png: the "
                                         r"image is damaged .*\(and 1 more\)") as info:
        with store.session_scope(engine) as s:
            library.add_folder(s, "grower_a", folder, label="canker", plot_id="P1")
    assert one_sentence(str(info.value))
    assert _count(engine) == 0 and _files(home) == []


def test_labels_from_folders_refuses_an_unknown_folder_before_adding(image_home, tmp_path):
    home, engine = image_home
    (tmp_path / "set" / "canker").mkdir(parents=True)
    (tmp_path / "set" / "mystery").mkdir()
    (tmp_path / "set" / "canker" / "1.jpg").write_bytes(image_bytes(seed=50))
    (tmp_path / "set" / "mystery" / "2.jpg").write_bytes(image_bytes(seed=51))
    with pytest.raises(InputError, match="folder .*mystery 'mystery' is not a known pest or disease"):
        with store.session_scope(engine) as s:
            library.add_folder(s, None, tmp_path / "set", labels_from_folders=True)
    assert _count(engine) == 0 and _files(home) == []


def test_export_manifest(image_home, tmp_path):
    _, engine = image_home
    with store.session_scope(engine) as s:
        a = library.add_image(
            s, "grower_a", image_bytes(seed=60), label="canker", plot_id="P1", collector="Li"
        )
        library.add_image(s, "grower_a", image_bytes(seed=61))  # unknown: left out
        library.add_image(s, "grower_b", image_bytes(seed=62), label="healthy")  # not grower_a's
        library.verify(s, "agro", a["sample_id"], "canker")
    with store.session_scope(engine) as s:
        path = library.export_manifest(s, "grower_a", tmp_path / "out" / "manifest.csv")
        everything = library.export_manifest(s, None, tmp_path / "all.csv", include_unknown=True)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 1
    row = rows[0]
    assert (
        row["label"],
        row["label_name_zh"],
        row["verified"],
        row["verified_by"],
        row["plot_id"],
        row["collector"],
    ) == ("canker", "柑橘溃疡病", "True", "agro", "P1", "Li")
    assert row["sha256"] == a["sha256"] and row["file"] == a["stored_path"]
    assert len(list(csv.DictReader(everything.open(encoding="utf-8")))) == 3
    with pytest.raises(InputError, match="ending in .csv"):
        with store.session_scope(engine) as s:
            library.export_manifest(s, None, tmp_path / "manifest.xlsx")


def test_sample_leaf_images_import_as_verified_expert_labels(image_home):
    home, engine = image_home
    with store.session_scope(engine) as s:
        report = library.load_sample_images(s, LEAF_IMAGES)
    assert len(report.added) == 168
    with store.session_scope(engine) as s:
        counts = library.label_counts(library.training_samples(s))
        again = library.load_sample_images(s, LEAF_IMAGES)
    assert counts == {"black_spot": 40, "canker": 40, "greening": 40, "melanose": 8, "healthy": 40}
    assert len(again.duplicates) == 168 and not again.added
