"""Agronomist parameter page: sets, editor validation, versions with author and diff, the week re-run as a
background job."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import staff_data as sd  # noqa: E402
from i18n import CATALOGUES, t  # noqa: E402

PAGE = str(APP / "pages" / "agronomist_parameters.py")
AGRONOMIST = {"user_id": "agronomist_zhao", "display_name": "赵农艺师", "role": "agronomist"}
GROWER = {"user_id": "grower_li", "display_name": "李明", "role": "grower"}


@pytest.fixture
def home(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    return sample_home


def engine():
    from orchard import config, store

    return store.init_db(config.database_url())


def page(user, lang="en"):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user"] = user
    at.session_state["lang"] = lang
    return at


def edit(at, name, version, key, **fields):
    """Seed the keyed data editor's edit state (AppTest applies no cell edits itself)."""
    frame = at.data_editor[0].value
    row = int(frame.index[frame["key"] == key][0])
    at.session_state[f"staff_params_editor::{name}::{version or 0}"] = {
        "edited_rows": {row: fields}, "added_rows": [], "deleted_rows": []}


def test_staff_catalogue_keys_match_and_are_prefixed():
    from i18n_staff import CATALOGUES as STAFF

    assert set(STAFF["zh-CN"]) == set(STAFF["en"])
    assert all(k.startswith(("staff.", "admin.")) for k in STAFF["en"])  # apart from the grower pages' keys
    assert set(STAFF["en"]) <= set(CATALOGUES["en"])  # merged into the app's catalogue


def test_specs_cover_core_cultivars_pests_and_advice_sets():
    from growth.cultivars import cultivar_codes

    names = {s.name: s for s in sd.parameter_specs()}
    assert names["weather"].used_by == "weekly"
    assert {f"growth.{c}" for c in cultivar_codes()} <= set(names)
    assert {"black_spot", "canker", "mites", "leaf_miner", "host", "outlook"} <= set(names)
    assert names["carbon"].used_by == "accounting" and names["advice.rules"].used_by == "weekly"
    assert names["black_spot"].used_by == "weekly" and names["rotation"].used_by == "weekly"
    variant = sd.spec_for(sd.district_set_name("growth.valencia", "长汀 Changting (Fujian)"))
    assert variant.district == "长汀 Changting (Fujian)" and variant.used_by == "weekly"
    pest_variant = sd.spec_for(sd.district_set_name("black_spot", "长汀 Changting (Fujian)"))
    assert pest_variant.used_by == "none"
    assert variant.base_name == "growth.valencia"
    with pytest.raises(Exception, match="unknown parameter set 'growth.lemon'"):
        sd.spec_for("growth.lemon")


def test_editor_round_trip_and_validation_names_the_parameter():
    spec = sd.spec_for("growth.valencia")
    pset = sd.shipped_set(spec)
    frame = sd.editor_frame(pset)
    assert list(frame.columns) == list(sd.EDITOR_COLUMNS)
    same, changed = sd.apply_edits(pset, frame, spec)
    assert changed == [] and same is pset

    frame.loc[frame["key"] == "bloom.required_gdd", "value"] = "1100"
    new, changed = sd.apply_edits(pset, frame, spec)
    assert changed == ["bloom.required_gdd"] and new["bloom.required_gdd"] == 1100.0
    assert new.name == "growth.valencia" and new.hash != pset.hash

    for text, reason in (("abc", "not_number"), ("1e9", "out_of_range"), ("", "not_number")):
        bad = sd.editor_frame(pset)
        bad.loc[bad["key"] == "bloom.required_gdd", "value"] = text
        with pytest.raises(sd.EditError, match="bloom.required_gdd") as info:
            sd.apply_edits(pset, bad, spec)
        assert info.value.reason == reason
    empty = sd.editor_frame(pset)
    empty.loc[empty["key"] == "bloom.required_gdd", "source"] = "  "
    with pytest.raises(sd.EditError, match="source is empty"):
        sd.apply_edits(pset, empty, spec)


def test_list_values_keep_their_length_and_pest_rules_are_checked():
    spec = sd.spec_for("host")
    pset = sd.shipped_set(spec)
    frame = sd.editor_frame(pset)
    assert frame.loc[frame["key"] == "flush.start_doy", "value"].item() == "75, 155, 215"
    frame.loc[frame["key"] == "flush.start_doy", "value"] = "80，150 215"  # full-width comma and a space
    new, changed = sd.apply_edits(pset, frame, spec)
    assert changed == ["flush.start_doy"] and new["flush.start_doy"] == (80, 150, 215)
    frame.loc[frame["key"] == "flush.start_doy", "value"] = "80, 150"
    with pytest.raises(sd.EditError, match="flush.start_doy: give 3 numbers") as info:
        sd.apply_edits(pset, frame, spec)
    assert info.value.reason == "length"

    spec = sd.spec_for("outlook")
    pset = sd.shipped_set(spec)
    frame = sd.editor_frame(pset)
    frame.loc[frame["key"] == "level.bounds", "value"] = "20, 60, 40, 80"  # each in range, not increasing
    with pytest.raises(sd.EditError, match="level.bounds must be 4 increasing numbers") as info:
        sd.apply_edits(pset, frame, spec)
    assert info.value.reason == "rule"
    text = t("staff.params.error.rule", "zh-CN", **info.value.fields)
    assert text.startswith("参数之间不一致") and "level.bounds" in text


def test_compare_recommendations_counts_changes():
    base = {"plot_id": "CT01", "topic": "spray", "module": "pests", "severity": 3,
            "action_key": "advice.action.spray_protective", "action_numbers": {"pest": "canker"},
            "valid_from": "2016-07-15", "valid_to": "2016-07-20"}
    other = dict(base, plot_id="CT02")
    counts = sd.compare_recommendations([base, other], [dict(base, severity=4), dict(other, topic="scout")])
    assert counts == {"changed": 1, "added": 1, "removed": 1, "unchanged": 0}
    assert sd.compare_recommendations([base], [dict(base)])["unchanged"] == 1
    merged = sd.merge_labels("lane: growth.lane v0 a; valencia: growth.valencia v0 b",
                             "valencia: growth.valencia v2 c")
    assert merged == "lane: growth.lane v0 a; valencia: growth.valencia v2 c"


def test_a_grower_is_refused_in_one_sentence(home):
    at = page(GROWER).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")]
    assert len(at.data_editor) == 0


def test_an_admin_may_edit_and_an_extension_user_may_not(home):
    at = page({"user_id": "admin", "display_name": "Administrator", "role": "admin"}).run()
    assert not at.exception and not at.error and len(at.data_editor) == 1
    at = page({"user_id": "extension_county", "display_name": "x", "role": "extension"}).run()
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")] and len(at.data_editor) == 0


def test_editor_shows_units_ranges_sources_in_chinese(home):
    at = page(AGRONOMIST, "zh-CN").run()
    assert not at.exception
    assert at.title[0].value == t("staff.params.title", "zh-CN")
    editor = at.data_editor[0].value
    assert {"key", "value", "unit", "min", "max", "source", "assumption"} <= set(editor.columns)
    assert "elevation.lapse_rate" in set(editor["key"])  # the core weather set is first
    assert at.info[0].value == t("staff.params.used_by.weekly", "zh-CN")


def test_out_of_range_edit_is_one_sentence_and_saves_nothing(sample_home_copy):
    at = page(AGRONOMIST)
    at.run()
    at.selectbox(key="staff_params_set").set_value("growth.valencia").run()
    edit(at, "growth.valencia", None, "bloom.required_gdd", value="1600")  # range 400-1500
    at.text_input(key="staff_params_comment::growth.valencia").input("too warm")
    at.button(key="staff_params_save").click().run()
    assert not at.exception
    expected = t("staff.params.error.out_of_range", "en", name="bloom.required_gdd", value="1600", min="400",
                 max="1500", unit="degC d")
    assert [e.value for e in at.error] == [expected]
    from orchard import params, store

    with store.session_scope(engine()) as db:
        assert params.list_versions(db, "growth.valencia") == []


def test_save_records_author_comment_and_diff_then_reruns_the_week(advised_copy):
    at = page(AGRONOMIST)
    at.run()
    at.selectbox(key="staff_params_set").set_value("growth.valencia").run()
    edit(at, "growth.valencia", None, "bloom.required_gdd", value="1050", source="local trial 2016")
    at.button(key="staff_params_save").click().run()
    assert [e.value for e in at.error] == [t("staff.params.need_comment", "en")]  # a comment is required
    at.text_input(key="staff_params_comment::growth.valencia").input("bloom a week later than modelled")
    at.button(key="staff_params_save").click().run()
    assert not at.exception
    assert at.success[0].value == t("staff.params.saved", "en", version=1, n=1, keys="bloom.required_gdd")

    from orchard import params, store

    with store.session_scope(engine()) as db:
        [record] = params.list_versions(db, "growth.valencia")
        assert record.author == "agronomist_zhao" and record.comment == "bloom a week later than modelled"
        assert params.load_version(db, "growth.valencia")["bloom.required_gdd"] == 1050.0
        changes = sd.version_changes(db, "growth.valencia", 1)
        diff = sd.version_diff(db, "growth.valencia", 0, 1)
    assert changes == []  # the first version has nothing earlier
    assert {(d["key"], d["field"], d["new"]) for d in diff} == {
        ("bloom.required_gdd", "value", "1050.0"), ("bloom.required_gdd", "source", "local trial 2016")}

    # The page reloads with version 1 in force, its history and the diff against the shipped set.
    at.run()
    in_force = t("staff.params.current_version", "en", version=1, hash=record.hash)
    assert in_force in [c.value for c in at.caption]
    history = at.dataframe[1].value
    assert history.iloc[0][t("staff.params.hist.author_name", "en")] == "赵农艺师"
    diff_table = at.dataframe[-1].value
    assert set(diff_table[t("staff.params.diffcol.key", "en")]) == {"bloom.required_gdd"}

    # A second, different edit stores the field-level change against version 1.
    edit(at, "growth.valencia", 1, "bloom.required_gdd", value="1060")
    at.text_input(key="staff_params_comment::growth.valencia").input("second look")
    at.button(key="staff_params_save").click().run()
    with store.session_scope(engine()) as db:
        changes = sd.version_changes(db, "growth.valencia", 2)
    assert changes == [{"key": "bloom.required_gdd", "field": "value", "old": "1050.0", "new": "1060.0"}]

    # Re-run the week as a job: every plot of the stored run, two affected plots compared before and after.
    from orchard import results

    with store.session_scope(engine()) as db:
        base = results.latest_run(db)
    at.run()
    affected = at.multiselect(key="staff_rerun_plots::growth.valencia").value
    assert affected and all(p in {"CT02", "CT05", "CT08", "CT09", "CT14", "CT15", "CT16", "CT20", "CT23",
                                  "CT24", "CT26", "CT28"} for p in affected)
    at.multiselect(key="staff_rerun_plots::growth.valencia").set_value(["CT02", "CT05"])
    at.button(key="staff_rerun_button").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    job_id = at.session_state["staff_rerun_job"]
    assert at.info[-1].value.startswith("Re-running the week of 2016-07-15 in the background (30 plots, job ")
    job = sd.wait_for_job(job_id, timeout_s=900)
    assert job["state"] == "done" and job["exit_code"] == 0, (job, sd.job_log(job))
    assert "--plots" not in job["command"]  # every plot of the stored run: all 30
    assert job["base_run_id"] == base["run_id"] and job["run_id"] != base["run_id"]

    at.run()  # the page shows the comparison of the two stored runs
    assert not at.exception and not at.error
    message = at.success[-1].value
    assert message.startswith("Re-ran the week of 2016-07-15 (30 plots): ")
    assert "of the 2 plots compared differ" in message
    with store.session_scope(engine()) as db:
        run = results.latest_run(db)
        table = results.status_table(db, "agronomist_zhao")
        assert results.get_run(db, base["run_id"])  # the base run stays stored beside the new one
    assert run["run_id"] == job["run_id"] and sorted(table["plot_id"]) == [f"CT{i:02d}" for i in range(1, 31)]
    assert "growth.valencia v2" in run["parameter_sets"]["growth"]
    summary = sd.rerun_comparison(engine(), "agronomist_zhao", job)
    assert summary.plot_ids == ["CT02", "CT05"] and not summary.same_run
    assert summary.n_before > 0 and summary.n_after > 0
    assert {c["plot_id"] for c in summary.status_changes} <= {"CT02", "CT05"}
    captions = [c.value for c in at.caption]
    assert t("staff.rerun.runs", "en", base=base["run_id"], run=run["run_id"]) in captions


def test_a_rerun_is_a_background_job_with_a_status_file(advised_copy):
    from orchard import results, store
    from orchard.errors import AccessError, InputError

    eng = engine()
    with store.session_scope(eng) as db:
        base = results.latest_run(db)
    job = sd.start_rerun(eng, "2016-07-15", caller="agronomist_zhao", reason="test", compare_plots=["CT13"])
    assert job["state"] == "starting" and job["n_plots"] == 30 and job["base_run_id"] == base["run_id"]
    assert job["command"][1:] == ["-m", "orchard.cli", "run-week", "--date", "2016-07-15"]  # every plot
    with pytest.raises(InputError, match="a re-run of 2016-07-15 is already running"):
        sd.start_rerun(eng, "2016-07-15", caller="admin")
    done = sd.wait_for_job(job["job_id"], timeout_s=900)
    assert done["state"] == "done" and done["exit_code"] == 0 and done["pid"], sd.job_log(done)
    assert (advised_copy / "jobs" / f"{job['job_id']}.json").exists() and "stored as run" in sd.job_log(done)
    assert [j["job_id"] for j in sd.list_jobs(date(2016, 7, 15))] == [job["job_id"]]
    # nothing changed since the base run: the same run id, stored again whole; compared with its snapshot
    summary = sd.rerun_comparison(eng, "agronomist_zhao", done)
    assert summary.same_run and summary.run_id == base["run_id"] and summary.plot_ids == ["CT13"]
    assert summary.n_differences == 0 and summary.n_unchanged == summary.n_after > 0
    assert summary.status_changes == []
    with store.session_scope(eng) as db:
        assert len(results.status_table(db, "agronomist_zhao")) == 30  # the stored run stays complete

    with pytest.raises(AccessError, match="only agronomists and administrators"):
        sd.start_rerun(eng, "2016-07-15", caller="grower_li")
    with pytest.raises(InputError, match="is not a job id"):
        sd.job_status("../../etc/passwd")


def test_a_failed_or_vanished_job_says_why(advised_copy):
    from orchard.errors import InputError

    eng = engine()
    job = sd.start_rerun(eng, "2030-07-15", caller="admin")  # no weather then: the CLI's one sentence
    failed = sd.wait_for_job(job["job_id"], timeout_s=600)
    assert failed["state"] == "failed" and failed["exit_code"] not in (0, None)
    assert "2030-07-15" in failed["error"] and "\n" not in failed["error"]
    with pytest.raises(InputError, match="has not finished"):
        sd.rerun_comparison(eng, "admin", failed)

    import jobs

    ghost = dict(failed, job_id="rerun-20000101T000000-dead00", state="running", pid=2 ** 22 + 12345)
    jobs.write_job(sd.jobs_root() / f"{ghost['job_id']}.json", ghost)
    status = sd.job_status(ghost["job_id"])
    assert status["state"] == "failed" and "stopped without a result" in status["error"]


def test_district_variant_is_saved_apart_and_said_to_be_unused(sample_home_copy):
    at = page(AGRONOMIST)
    at.run()
    at.selectbox(key="staff_params_district").set_value("长汀 Changting (Fujian)").run()
    assert not at.exception
    assert "district versions do not change advice yet" in at.warning[0].value
    name = "weather@长汀 Changting (Fujian)"
    edit(at, name, None, "elevation.lapse_rate", value="0.55")
    at.text_input(key=f"staff_params_comment::{name}").input("valley inversions")
    at.button(key="staff_params_save").click().run()
    assert not at.error and at.success
    from orchard import params, store

    with store.session_scope(engine()) as db:
        assert [v.version for v in params.list_versions(db, name)] == [1]
        assert params.current_core_parameters(db)["elevation.lapse_rate"] != 0.55  # the models ignore it
    assert t("staff.rerun.not_read.none", "en") in [c.value for c in at.caption]


def test_history_and_diff_show_the_new_version_right_after_a_save(sample_home_copy):
    """After a second save the changes and the diff are of version 2 at once, not of the version that was
    newest when the page was first drawn (issue #19, finding 9)."""
    at = page(AGRONOMIST)
    at.run()
    at.selectbox(key="staff_params_set").set_value("growth.valencia").run()
    for version, (value, comment) in enumerate((("1050", "first look"), ("1060", "second look"))):
        edit(at, "growth.valencia", version or None, "bloom.required_gdd", value=value)
        at.text_input(key="staff_params_comment::growth.valencia").input(comment)
        at.button(key="staff_params_save").click().run()
        assert not at.exception and not at.error
    assert at.success[0].value == t("staff.params.saved", "en", version=2, n=1, keys="bloom.required_gdd")
    history = at.dataframe[1].value
    assert list(history[t("staff.params.hist.version", "en")]) == [2, 1]
    changes = at.dataframe[2].value  # the changes of the chosen version: version 2 against version 1
    assert list(changes[t("staff.params.diffcol.old", "en")]) == ["1050.0"]
    assert list(changes[t("staff.params.diffcol.field", "en")]) == ["Value"]  # named as in the editor
    assert list(changes[t("staff.params.diffcol.new", "en")]) == ["1060.0"]
    diff = at.dataframe[-1].value  # shipped against the newest version
    value_rows = diff[diff[t("staff.params.diffcol.field", "en")] == t("staff.params.col.value", "en")]
    assert list(value_rows[t("staff.params.diffcol.new", "en")]) == ["1060.0"]


def test_parameter_texts_cover_every_unit_section_and_the_covered_sets():
    """The Chinese catalogue of parameter texts follows the files: every unit, section and description of
    every declared set (a new or renamed key fails here until it is translated)."""
    import i18n_params

    units, sections, described = set(), set(), {}
    for spec in sd.parameter_specs():
        pset = sd.shipped_set(spec)
        units |= {entry.unit for entry in pset.entries.values()}
        sections |= {key.split(".", 1)[0] for key in pset.entries}
        described.setdefault(i18n_params.family(spec.name, spec.kind), set()).update(pset.entries)
    assert units <= set(i18n_params.UNITS_ZH), sorted(units - set(i18n_params.UNITS_ZH))
    assert sections <= set(i18n_params.SECTIONS_ZH), sorted(sections - set(i18n_params.SECTIONS_ZH))
    assert set(described) == set(i18n_params.DESCRIPTIONS_ZH)
    for family, keys in described.items():
        assert keys == set(i18n_params.DESCRIPTIONS_ZH[family]), family
    texts = [*i18n_params.UNITS_ZH.values(), *i18n_params.SECTIONS_ZH.values()] + [
        text for family in i18n_params.DESCRIPTIONS_ZH.values() for text in family.values()]
    assert all(text.strip() for text in texts)


@pytest.mark.parametrize("name", ["weather", "growth.valencia", "growth.slope", "black_spot", "outlook",
                                  "soil.qc", "monitoring.imagery", "advice.protection", "carbon"])
def test_chinese_parameter_page_shows_units_sections_and_descriptions_in_chinese(home, name):
    """Issue #19, finding 4: keys stay codes, but what they mean and their units are in Chinese."""
    import re

    at = page(AGRONOMIST, "zh-CN").run()
    at.selectbox(key="staff_params_set").set_value(name).run()
    assert not at.exception and not at.error
    editor = at.data_editor[0].value
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert all(cjk.search(text) for text in editor["description"]), list(editor["description"])
    assert all(cjk.search(text) for text in editor["section"])
    english_units = {"degC", "degC d", "d", "h", "m", "mm", "doy", "yr", "1", "Brix", "degC/100m"}
    assert not set(editor["unit"]) & english_units, set(editor["unit"])
    if name == "growth.valencia":
        row = editor[editor["key"] == "bloom.required_gdd"].iloc[0]
        assert (row["section"], row["unit"]) == ("开花", "°C·天（积温）")
    english = page(AGRONOMIST, "en").run()
    english.selectbox(key="staff_params_set").set_value(name).run()
    shipped = sd.shipped_set(sd.spec_for(name))
    frame = english.data_editor[0].value.set_index("key")
    assert all(frame.at[key, "unit"] == entry.unit and frame.at[key, "description"] == entry.description
               for key, entry in shipped.entries.items())  # the English page shows the files' own texts
