"""The identify page (app/pages/identify.py): bad uploads give one sentence, a photo gives the top three or
"uncertain", and "save" adds it to the image library for an agronomist."""

import io
import re
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
sys.path.insert(0, str(APP))
import data  # noqa: E402
from i18n import t  # noqa: E402

PAGE = str(APP / "pages" / "identify.py")
LEAF = ROOT / "sample_data" / "leaf_images" / "black-spot" / "bl_001.png"


def _reencoded(path: Path) -> bytes:
    """The photo as JPEG: other bytes, so a photo the sample's image library does not hold yet."""
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


NEW_PHOTO = _reencoded(LEAF)
USERS = {"grower_li": ("李明", "grower"), "extension_county": ("县农技推广站", "extension")}
ANSWER = {"top": [{"label": "black_spot", "probability": 0.81, "name_en": "Citrus black spot",
                   "name_zh": "柑橘黑斑病"},
                  {"label": "canker", "probability": 0.12, "name_en": "Citrus canker",
                   "name_zh": "柑橘溃疡病"},
                  {"label": "melanose", "probability": 0.04, "name_en": "Melanose",
                   "name_zh": "柑橘树脂病（沙皮病）"}],
          "label": "black_spot", "uncertain": False, "threshold": 0.5}


@pytest.fixture
def home(sample_home_copy):
    return sample_home_copy


@pytest.fixture
def classifier(monkeypatch):
    """The trained classifier's answer, fixed (the classifier itself is tested with the image library)."""
    from pests.images import classifier as module

    calls = []

    def identify(image, *args, **kwargs):
        calls.append(image)
        return answer[0]

    answer = [ANSWER]
    monkeypatch.setattr(module, "identify", identify)
    data._identify.clear()
    return answer, calls


def _upload(name: str, content: bytes, mime: str = "image/png", user: str = "grower_li", lang=None,
            **params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    display, role = USERS[user]
    at.session_state["user"] = {"user_id": user, "display_name": display, "role": role}
    if lang:
        at.session_state["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.file_uploader(key="photo").set_value((name, content, mime))
    return at.run()


def _errors(at) -> list[str]:
    assert not at.exception
    return [e.value for e in at.error]


# ----------------------------------------------------------------------------------------------------------
# Bad uploads: one sentence each, never a traceback, nothing identified
# ----------------------------------------------------------------------------------------------------------
def test_a_text_file_named_jpg_is_not_a_photo(home, classifier):
    at = _upload("leaf.jpg", b"this is not a photo at all\n" * 10, "image/jpeg")
    assert _errors(at) == [t("identify.not_image", "zh-CN")]
    assert not at.image and not classifier[1]


def test_a_truncated_photo_is_corrupt(home, classifier):
    at = _upload("leaf.png", LEAF.read_bytes()[:3000])
    assert _errors(at) == [t("identify.corrupt", "zh-CN")]
    assert not classifier[1]


def test_a_file_over_the_upload_limit_is_refused_before_decoding(home, classifier):
    big = LEAF.read_bytes() + b"\0" * (data.MAX_PHOTO_BYTES + 1)
    at = _upload("leaf.png", big)
    (message,) = _errors(at)
    assert message == "照片太大（10.1 MB），最大 10 MB；请换一张较小的照片。" and not classifier[1]


def test_a_photo_with_too_many_pixels_is_refused(home, classifier):
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, format="PNG")  # 48 Mpx in a few kB
    at = _upload("huge.png", buffer.getvalue())
    assert _errors(at) == [t("identify.too_many_pixels", "zh-CN", mpx=48.0, max=40.0)]


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG header of any size with a token of image data (a 20000 x 20000 photo without 50 MB)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_huge_photo_is_too_large_not_damaged(home, classifier, lang):
    """20000 x 20000 px is beyond what Pillow even opens (a decompression bomb to it): the grower is told the
    photo is too large and the limit, not that it is damaged (issue #19, finding 10)."""
    at = _upload("huge.png", _png_header(20000, 20000), lang=lang)
    assert _errors(at) == [t("identify.too_many_pixels", lang, mpx=400.0, max=40.0)]
    assert t("identify.corrupt", lang) not in _errors(at) and not classifier[1]


def test_a_file_of_another_type_is_refused(home, classifier):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, format="GIF")
    at = _upload("leaf.gif", buffer.getvalue(), "image/gif")
    assert _errors(at) == [t("identify.wrong_type", "zh-CN")]
    at = _upload("leaf.jpg", buffer.getvalue(), "image/jpeg")  # a GIF renamed .jpg
    assert _errors(at) == [t("identify.not_image", "zh-CN")]


def test_check_photo_accepts_real_jpeg_png_and_webp():
    image = Image.open(LEAF).convert("RGB")
    for fmt, name in (("JPEG", "a.jpeg"), ("PNG", "a.PNG"), ("WEBP", "a.webp")):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        assert data.check_photo(name, buffer.getvalue()) is None, fmt
    assert data.check_photo("no_extension", LEAF.read_bytes()) == ("identify.wrong_type", {})
    assert data.check_photo("a.png", b"") == ("identify.not_image", {})


# ----------------------------------------------------------------------------------------------------------
# Identification and saving
# ----------------------------------------------------------------------------------------------------------
def test_a_photo_gives_the_three_most_likely_with_probabilities(home, classifier):
    at = _upload("leaf.png", LEAF.read_bytes())
    assert _errors(at) == []
    assert classifier[1] == [LEAF.read_bytes()]
    items = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert items == ["- 柑橘黑斑病：81%", "- 柑橘溃疡病：12%", "- 柑橘树脂病（沙皮病）：4%"]
    assert t("identify.caution", "zh-CN") in [c.value for c in at.caption]
    assert len(at.image) == 1
    at = _upload("leaf.png", LEAF.read_bytes(), lang="en")
    assert [m.value for m in at.markdown if m.value.startswith("- ")][0] == "- Citrus black spot: 81%"


def test_an_uncertain_answer_says_so(home, classifier):
    classifier[0][0] = {**ANSWER, "uncertain": True, "label": "uncertain"}
    at = _upload("leaf.png", LEAF.read_bytes())
    assert [w.value for w in at.warning] == [t("identify.uncertain", "zh-CN")]


def test_without_a_trained_model_the_page_says_so_in_one_sentence(home):
    shutil.rmtree(home / "models", ignore_errors=True)  # `orchard init --sample` trains one
    data._identify.clear()
    at = _upload("leaf.png", LEAF.read_bytes())
    assert _errors(at) == []
    (info,) = [i.value for i in at.info]
    assert info == t("identify.no_model", "zh-CN")  # in Chinese only: the English detail is for the staff
    assert at.button(key="photo_save")  # the photo can still be kept for an agronomist
    at = _upload("leaf.png", LEAF.read_bytes(), lang="en")
    (info,) = [i.value for i in at.info]
    assert info.startswith("The photo cannot be identified now: no identification model in")


def test_save_adds_the_photo_to_the_library_as_an_unlabelled_model_sample(home, classifier):
    from orchard import config, store

    at = _upload("field.jpg", NEW_PHOTO, "image/jpeg", plot="CT13")
    assert at.selectbox(key="photo_plot").value == "CT13"
    at = at.button(key="photo_save").click().run()
    assert _errors(at) == []
    (success,) = [s.value for s in at.success]
    engine = store.create_engine_for(config.database_url())
    try:
        with store.session_scope(engine) as session:
            rows = session.query(store.ImageSample).all()
            (row,) = [r for r in rows if r.added_by == "grower_li"]
            assert success == t("identify.saved", "zh-CN", sample=row.sample_id)
            assert (row.label, row.label_source, row.plot_id, row.original_name) == (
                "unknown", "model", "CT13", "field.jpg")
            assert (row.predicted_label, row.predicted_probability) == ("black_spot", pytest.approx(0.81))
    finally:
        engine.dispose()


def test_a_photo_already_in_the_library_is_not_stored_twice(home, classifier):
    at = _upload("leaf.png", LEAF.read_bytes())  # one of the sample library's photos
    at = at.button(key="photo_save").click().run()
    (success,) = [s.value for s in at.success]
    assert success.startswith("这张照片已经在图片库里（编号 ") and not at.error


def test_the_trained_sample_model_identifies_a_black_spot_leaf(home):
    data._identify.clear()
    at = _upload("leaf.jpg", NEW_PHOTO, "image/jpeg")
    assert _errors(at) == [] and not at.info
    items = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert 1 <= len(items) <= 3 and all(re.fullmatch(r"- .+：\d+%", item) for item in items)
    percents = [int(re.search(r"(\d+)%$", item).group(1)) for item in items]
    assert percents == sorted(percents, reverse=True) and sum(percents) <= 101


def test_another_growers_plot_is_not_offered_for_a_photo(home, classifier):
    at = _upload("leaf.png", LEAF.read_bytes(), plot="CT02")
    choice = at.selectbox(key="photo_plot")
    assert choice.value is None and "CT02" not in choice.options and len(choice.options) == 11


def test_identification_reads_the_classifiers_answer_and_plain_mappings():
    out = data.identification(ANSWER)
    assert [r["label"] for r in out["top"]] == ["black_spot", "canker", "melanose"] and not out["uncertain"]
    out = data.identification({"canker": 0.2, "scab": 0.7, "greening": 0.05, "healthy": 0.05})
    assert [(r["label"], r["probability"]) for r in out["top"]] == [("scab", 0.7), ("canker", 0.2),
                                                                    ("greening", 0.05)]
    assert data.identification({"top": []})["uncertain"]
