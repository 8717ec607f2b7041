"""Agronomist calibration page: upload observations, fit, compare with the prior, save; bad uploads."""

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

PAGE = str(APP / "pages" / "agronomist_calibration.py")
AGRONOMIST = {"user_id": "agronomist_zhao", "display_name": "赵农艺师", "role": "agronomist"}

#: Valencia plots of the sample and their modelled 2015 bloom dates (no slope correction; 6-7 April with the
#: shipped bloom.required_gdd of 960 degC d) plus six days: the fit must move bloom.required_gdd up (to about
#: 1065, inside its range; as tests/growth/test_growth_cli.py does through the CLI).
OBSERVATIONS = (b"plot_id,date,variable,value\n"
                b"CT02,2015-04-12,bloom_date,\nCT05,2015-04-13,bloom_date,\nCT08,2015-04-13,bloom_date,\n")
#: Bloom in June: the heat sum to it lies beyond the range's maximum (1500 degC d), so the fit ends on it.
LATE_BLOOM = b"plot_id,date,variable,value\nCT02,2015-06-10,bloom_date,\nCT05,2015-06-10,bloom_date,\n"


def page(user, lang="en"):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user"] = user
    at.session_state["lang"] = lang
    return at


def upload_and_run(at, name, data):
    at.run()
    at.file_uploader(key="staff_cal_upload").set_value((name, data, "text/csv"))
    at.checkbox(key="staff_cal_slope").uncheck()
    at.run()
    at.button(key="staff_cal_run").click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("role", ["grower", "extension", "admin"])
def test_other_roles_are_refused_in_one_sentence(sample_home, monkeypatch, role):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = page({"user_id": f"x_{role}", "display_name": "x", "role": role}).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")]
    assert len(at.file_uploader) == 0


def test_upload_checks_are_one_sentence():
    with pytest.raises(InputError, match=r"^obs.xlsx: is not a CSV file \(.csv\); upload a CSV file.$"):
        sd.read_observation_upload("obs.xlsx", b"PK\x03\x04")
    with pytest.raises(InputError, match="more than the 2 MB this page accepts"):
        sd.read_observation_upload("obs.csv", b"x" * (sd.MAX_OBSERVATION_BYTES + 1))
    with pytest.raises(InputError, match="holds binary data"):
        sd.read_observation_upload("obs.csv", bytes(range(256)))
    with pytest.raises(InputError, match=r"^obs.csv: column 'date' is missing"):
        sd.read_observation_upload("obs.csv", b"plot_id,variable\nCT02,bloom_date\n")
    with pytest.raises(InputError, match="unknown variable 'fruit_weight'"):
        sd.read_observation_upload("obs.csv",
                                   b"plot_id,date,variable,value\nCT02,2015-03-25,fruit_weight,9\n")
    with pytest.raises(InputError, match="the file is empty"):
        sd.read_observation_upload("obs.csv", b"")
    frame = sd.read_observation_upload("my obs (1).csv", OBSERVATIONS)
    assert list(frame["plot_id"]) == ["CT02", "CT05", "CT08"]


def test_calibrate_show_fitted_against_prior_and_save(sample_home_copy):
    at = upload_and_run(page(AGRONOMIST), "valencia_bloom.csv", OBSERVATIONS)
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == t("staff.cal.result", "en", cultivar="Valencia", name="growth.valencia")
    fitted, errors, residuals = (d.value for d in at.dataframe)
    row = fitted.iloc[0]
    assert row[t("staff.cal.col.key", "en")] == "bloom.required_gdd"
    assert row[t("staff.cal.col.fitted", "en")] > row[t("staff.cal.col.prior", "en")]
    assert row[t("staff.cal.col.fitted", "en")] < row[t("staff.cal.col.max", "en")]
    assert not at.warning  # inside its range: no bound warning
    err = errors.iloc[0]
    assert err[t("staff.cal.col.rmse_after", "en")] < 1.5 < err[t("staff.cal.col.rmse_before", "en")]
    prior = residuals[t("staff.cal.col.residual_prior", "en")]
    after = residuals[t("staff.cal.col.residual_fitted", "en")]
    assert len(residuals) == 3 and (prior.abs() > after.abs()).all()
    assert prior.abs().mean() > 3  # the model blooms about six days early with the prior

    at.button(key="staff_cal_save").click().run()
    assert at.success[0].value == t("staff.cal.saved", "en", name="growth.valencia", version=1)
    from orchard import config, params, store

    with store.session_scope(store.init_db(config.database_url())) as db:
        [record] = params.list_versions(db, "growth.valencia")
        saved = params.load_version(db, "growth.valencia")
    assert record.author == "agronomist_zhao" and record.comment == "calibrated on valencia_bloom.csv"
    assert saved["bloom.required_gdd"] == pytest.approx(row[t("staff.cal.col.fitted", "en")])


def test_a_fit_on_a_bound_of_the_range_is_a_warning(sample_home_copy):
    at = upload_and_run(page(AGRONOMIST), "late_bloom.csv", LATE_BLOOM)
    assert not at.error, [e.value for e in at.error]
    row = at.dataframe[0].value.iloc[0]
    assert row[t("staff.cal.col.fitted", "en")] == pytest.approx(1500.0, abs=15.0)  # within 1 % of the range
    expected = t("staff.cal.at_bound.upper", "en", parameter="bloom.required_gdd",
                 value=f"{row[t('staff.cal.col.fitted', 'en')]:g}", unit="degC d", min="400", max="1500")
    assert [w.value for w in at.warning] == [expected]
    assert "upper bound" in expected and "1500" in expected

    at = page(AGRONOMIST, "zh-CN")  # the same warning in Chinese
    at = upload_and_run(at, "late_bloom.csv", LATE_BLOOM)
    [warning] = at.warning
    assert warning.value.startswith("bloom.required_gdd 拟合到其公布范围的上限") and "400–1500" in warning.value


@pytest.mark.parametrize("name, data, expected", [
    ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "photo.png: is not a CSV file"),
    ("obs.csv", b"x" * (3 * 1024 * 1024), "more than the 2 MB this page accepts"),
    ("obs.csv", b"plot_id,date,variable,value\nCT01,2015-03-25,bloom_date,\nCT02,2015-03-25,bloom_date,\n",
     "calibrate one cultivar at a time"),
])
def test_bad_uploads_are_one_sentence(sample_home, monkeypatch, name, data, expected):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = upload_and_run(page(AGRONOMIST), name, data)
    [error] = at.error
    assert expected in error.value and error.value.startswith("Could not finish: ")
    assert "Traceback" not in error.value and len(at.dataframe) == 0


@pytest.mark.parametrize("name, data, reason, fields", [
    ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "wrong_type", {"types": "CSV"}),
    ("obs.csv", b"x" * (3 * 1024 * 1024), "too_large", {"mb": 3.0, "max": 2}),
    ("obs.csv", bytes(range(256)), "binary", {}),
    ("obs.csv", b"plot_id,date,variable,value\n", "no_rows", {}),
])
def test_a_refused_upload_is_said_in_chinese_on_the_chinese_page(sample_home, monkeypatch, name, data, reason,
                                                                  fields):
    """Issue #19, finding 4: calibration errors were English sentences on the Chinese page."""
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = upload_and_run(page(AGRONOMIST, "zh-CN"), name, data)
    expected = t("staff.error", "zh-CN", error=t(f"staff.upload.{reason}", "zh-CN", name=name, **fields))
    assert [e.value for e in at.error] == [expected]
    assert not any(word in expected for word in ("file", "upload", "more than"))


#: Four faults in three rows, and two plots the agronomist's district does not have.
FAULTY = (b"plot_id,date,variable,value\nCT02,2015-13-01,bloom_date,\nCT05,2015-04-13,fruit_weight,9\n"
          b"CT08,2015/07/15,brix,\n")


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_bad_file_lists_every_fault_in_the_pages_language(sample_home, monkeypatch, lang):
    """Not only the first fault (issue #19, finding 9): the agronomist fixes the file in one go."""
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    at = upload_and_run(page(AGRONOMIST, lang), "obs.csv", FAULTY)
    [error] = at.error
    faults = [("bad_date", "2", "2015-13-01"), ("unknown_variable", "3", "fruit_weight"),
              ("bad_date", "4", "2015/07/15"), ("no_value", "4", "brix")]
    expected = [t(f"staff.cal.fault.{kind}", lang, rows=row, value=value) for kind, row, value in faults]
    assert error.value == (t("staff.cal.faults", lang, file="obs.csv", n=4) + "\n\n"
                           + "\n".join(f"- {line}" for line in expected))
    assert len(at.dataframe) == 0

    unknown = b"plot_id,date,variable,value\nCT99,2015-04-12,bloom_date,\nCT98,2015-04-12,bloom_date,\n"
    at = upload_and_run(page(AGRONOMIST, lang), "obs.csv", unknown)
    line = t("staff.cal.fault.unknown_plot", lang, rows="", value="CT98, CT99")
    assert [e.value for e in at.error] == [t("staff.cal.fault_one", lang, file="obs.csv") + f"\n\n- {line}"]
    if lang == "zh-CN":  # the Chinese page says it in Chinese: no English sentence of the reader
        assert "row" not in error.value and "unknown variable" not in error.value


def test_fault_lines_name_rows_and_keep_the_sentence_of_a_kind_not_yet_translated():
    from growth.calibrate import ObservationFault, ObservationFileError

    error = ObservationFileError("obs.csv", [
        ObservationFault("bad_date", tuple(range(2, 14)), "x", "rows 2-13 have date 'x'"),
        ObservationFault("new_kind", (5,), "9", "row 5 has something new")])
    lines = sd.fault_lines(error, lambda key, **f: t(key, "zh-CN", **f), "，")
    assert lines == [t("staff.cal.fault.bad_date", "zh-CN", rows="2，3，4，5，6，7，8，9，10，11…", value="x"),
                     "row 5 has something new"]


def test_every_fault_of_a_file_is_in_the_readers_error():
    """The CLI's message names every fault too, each with its row."""
    with pytest.raises(InputError) as info:
        sd.read_observation_upload("obs.csv", FAULTY)
    message = str(info.value)
    assert message.startswith("obs.csv has 4 faults: row 2 has date '2015-13-01'")
    assert "row 3 names the unknown variable 'fruit_weight'" in message
    assert "row 4 has date '2015/07/15'" in message and "row 4 (brix) has no numeric value" in message


def test_the_stated_upload_limit_is_the_enforced_one(sample_home, monkeypatch):
    """The label's limit, the browser's limit and the server's check are one constant (the label said 2 MB
    beside a 10 MB uploader; issue #19, finding 9)."""
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    for lang in ("zh-CN", "en"):
        at = page(AGRONOMIST, lang).run()
        uploader = at.file_uploader(key="staff_cal_upload")
        assert uploader.proto.max_upload_size_mb == sd.MAX_OBSERVATION_MB
        assert uploader.label == t("staff.cal.upload", lang, max=sd.MAX_OBSERVATION_MB)
        assert f"{sd.MAX_OBSERVATION_MB} MB" in uploader.label
    with pytest.raises(InputError, match=f"more than the {sd.MAX_OBSERVATION_MB} MB this page accepts"):
        sd.read_observation_upload("obs.csv", b"x" * (sd.MAX_OBSERVATION_MB * 1024 * 1024 + 1))


def test_the_chinese_uploader_hides_streamlits_english_words(sample_home, monkeypatch):
    """Streamlit writes "Drag and drop file here", "Limit 2MB per file" and "Upload" in English: on the
    Chinese page they are hidden in the uploader's box and the button says the catalogue's word (issue #19,
    finding 4); the English page keeps Streamlit's own."""
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    styles = {}
    for lang in ("zh-CN", "en"):
        at = page(AGRONOMIST, lang).run()
        styles[lang] = [h.proto.body for h in at.get("html") if "stFileUploaderDropzone" in h.proto.body]
    [style] = styles["zh-CN"]
    hidden = ("[data-testid='stFileUploaderDropzone'] [data-testid='stFileUploaderDropzoneInstructions'] "
              "{display: none;}")
    assert f".st-key-staff_cal_box {hidden}" in style
    assert f'content: "{t("staff.cal.choose", "zh-CN")}"' in style
    assert styles["en"] == []


def test_result_tables_show_no_none(sample_home_copy):
    """An observed date has no value: its cell says "–", not Streamlit's "None" (issue #19, finding 9)."""
    at = upload_and_run(page(AGRONOMIST, "zh-CN"), "valencia_bloom.csv", OBSERVATIONS)
    assert not at.error, [e.value for e in at.error]
    for table in at.dataframe:
        frame = table.value
        assert not frame.isna().any().any(), frame
    residuals = at.dataframe[2].value
    assert set(residuals[t("staff.cal.col.value", "zh-CN")]) == {"–"}
    assert set(residuals[t("staff.cal.col.variable", "zh-CN")]) == {"开花期"}
    fitted, errors = at.dataframe[0].value, at.dataframe[1].value  # units in Chinese too
    assert list(fitted[t("staff.cal.col.unit", "zh-CN")]) == ["°C·天（积温）"]
    assert list(errors[t("staff.cal.col.unit", "zh-CN")]) == ["天"]
