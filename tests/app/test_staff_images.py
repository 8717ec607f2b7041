"""Agronomist image-review page: unverified samples first, thumbnails, verify or relabel; guards."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import staff_data as sd  # noqa: E402
from i18n import t  # noqa: E402

from orchard.errors import InputError  # noqa: E402

PAGE = str(APP / "pages" / "agronomist_images.py")
AGRONOMIST = {"user_id": "agronomist_zhao", "display_name": "赵农艺师", "role": "agronomist"}
LEAVES = Path(__file__).resolve().parents[2] / "sample_data" / "leaf_images"


def page(user, lang="en"):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user"] = user
    at.session_state["lang"] = lang
    return at


@pytest.fixture
def library_home(sample_home_copy):
    """The sample database with three photos: two unverified with a classifier's guess, one verified."""
    from orchard import config, store
    from pests.images import library

    canker = sorted((LEAVES / "canker").glob("*.png"))[:2]
    healthy = sorted((LEAVES / "healthy").glob("*.png"))[:1]
    with store.session_scope(store.init_db(config.database_url())) as db:
        db.query(store.ImageSample).delete()  # start from an empty library (init --sample loads its photos)
    with store.session_scope(store.init_db(config.database_url())) as db:
        add = library.add_image
        ids = [add(db, "agronomist_zhao", canker[0], plot_id="CT01", predicted_label="canker",
                   predicted_probability=0.81)["sample_id"],
               add(db, "agronomist_zhao", canker[1], plot_id="CT02", predicted_label="black_spot",
                   predicted_probability=0.55)["sample_id"],
               add(db, "agronomist_zhao", healthy[0], label="healthy",
                   label_source="agronomist")["sample_id"]]
    return ids


@pytest.mark.parametrize("role", ["grower", "extension"])
def test_other_roles_are_refused_in_one_sentence(sample_home, monkeypatch, role):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = page({"user_id": "someone", "display_name": "x", "role": role}).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")]


def test_unverified_first_with_thumbnails_and_prediction(library_home):
    first, second, verified = library_home
    at = page(AGRONOMIST).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    ids = list(table[t("staff.img.col.sample_id", "en")])
    assert first in ids and second in ids and verified not in ids  # default view: to review
    assert ids.index(first) < ids.index(second)
    row = table[table[t("staff.img.col.sample_id", "en")] == first].iloc[0]
    assert row[t("staff.img.col.predicted", "en")] == "Citrus canker"
    assert row[t("staff.img.col.probability", "en")] == pytest.approx(0.81)
    assert len(at.image) >= 3  # grid thumbnails plus the opened sample
    assert at.image[0].captions[0].startswith(f"#{ids[0]} · Unknown")

    at.selectbox(key="staff_img_state").set_value("all").run()
    every = list(at.dataframe[0].value[t("staff.img.col.sample_id", "en")])
    assert verified in every and every.index(verified) > every.index(second)  # verified after unverified


def test_verify_with_a_new_label_records_the_agronomist(library_home):
    first, second, _ = library_home
    at = page(AGRONOMIST, "zh-CN").run()
    at.selectbox(key="staff_img_sample").set_value(second).run()
    at.selectbox(key=f"staff_img_label::{second}").set_value("canker")
    at.button(key="staff_img_verify").click().run()
    assert not at.exception
    assert at.success[0].value == t("staff.img.verified", "zh-CN", id=second, label="柑橘溃疡病")
    assert second not in list(at.dataframe[0].value[t("staff.img.col.sample_id", "zh-CN")])

    from orchard import config, store
    from pests.images import library

    with store.session_scope(store.init_db(config.database_url())) as db:
        sample = library.get_sample(db, "agronomist_zhao", second)
        mine = sd.review_samples(db, "agronomist_zhao", state="verified", plot_id="CT02")
    assert sample["label"] == "canker" and sample["verified_by"] == "agronomist_zhao"
    assert [s["sample_id"] for s in mine] == [second]


def test_an_admin_may_verify_too(library_home):
    first = library_home[0]
    at = page({"user_id": "admin", "display_name": "Administrator", "role": "admin"}).run()
    assert not at.exception and not at.error
    at.button(key="staff_img_verify").click().run()  # the default label is the classifier's guess
    assert at.success[0].value == t("staff.img.verified", "en", id=first, label="Citrus canker")


def test_filters_by_label_and_plot(library_home):
    first, _, _ = library_home
    at = page(AGRONOMIST).run()
    at.selectbox(key="staff_img_plot").set_value("CT01").run()
    assert list(at.dataframe[0].value[t("staff.img.col.sample_id", "en")]) == [first]
    at.selectbox(key="staff_img_plot").set_value("").run()
    at.selectbox(key="staff_img_filter").set_value("scab").run()
    assert at.info[0].value == t("staff.img.none", "en")


def test_missing_or_corrupt_file_is_one_sentence(library_home, tmp_path):
    from orchard import config, store
    from pests.images import library

    first = library_home[0]
    with store.session_scope(store.init_db(config.database_url())) as db:
        path = library.image_path(library.get_sample(db, "agronomist_zhao", first))
    path.write_bytes(b"not an image at all")
    with pytest.raises(InputError, match="the image cannot be shown"):
        sd.thumbnail(path)
    at = page(AGRONOMIST).run()
    assert not at.exception
    assert any("the image cannot be shown" in e.value for e in at.error)
    path.unlink()
    at = page(AGRONOMIST).run()
    assert not at.exception and any("is missing" in e.value for e in at.error)


def test_page_is_guarded_when_the_library_is_not_installed(sample_home, monkeypatch):
    import pests.images

    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.setitem(sys.modules, "pests.images.library", None)  # import now raises ImportError
    monkeypatch.delattr(pests.images, "library", raising=False)
    at = page(AGRONOMIST).run()
    assert not at.exception
    assert [w.value for w in at.warning] == [t("staff.img.not_installed", "en")]


def test_a_growers_photo_names_who_uploaded_it_and_when(library_home):
    """A photo from the identify page has no collector and often no EXIF time: the review says which grower
    uploaded it and when, not "拍摄人：–" and "拍摄时间：–" (issue #19, finding 9)."""
    from orchard import config, store
    from pests.images import library

    photo = sorted((LEAVES / "healthy").glob("*.png"))[1]
    with store.session_scope(store.init_db(config.database_url())) as db:
        # as data.save_photo stores a grower's upload
        sample = library.add_image(db, "grower_li", photo.read_bytes(), label="unknown", plot_id="CT01",
                                   label_source="model", original_name="leaf.png")
    assert sample["collector"] is None and sample["taken_utc"] is None
    uploaded = sd._local_time(sample["created_utc"])
    at = page(AGRONOMIST, "zh-CN").run()
    at.selectbox(key="staff_img_sample").set_value(sample["sample_id"]).run()
    assert not at.exception and not at.error
    details = next(m.value for m in at.markdown if m.value.startswith("标签："))
    assert t("staff.img.uploaded_by", "zh-CN", name="李明") in details
    assert t("staff.img.uploaded_at", "zh-CN", time=uploaded) in details
    assert "–" not in details.split("地块：")[1]
    table = at.dataframe[0].value.set_index(t("staff.img.col.sample_id", "zh-CN"))
    assert table.loc[sample["sample_id"], t("staff.img.col.taken", "zh-CN")] == uploaded  # the table too

    # a photo with a collector and a capture time says those instead
    with store.session_scope(store.init_db(config.database_url())) as db:
        [expert] = [s for s in library.list_samples(db, "agronomist_zhao")
                    if s["sample_id"] == library_home[0]]
    expert = {**expert, "collector": "王技术员", "taken_utc": sample["created_utc"]}
    origin = sd.photo_origin(expert)
    assert origin == {"who": ("taken_by", "王技术员"), "when": ("taken_at", uploaded)}
