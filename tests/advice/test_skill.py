"""Skill against scouting: the counts on a small hand-made observation file (tests/data/skill/, each row's
note says what it must score), the same from stored runs and from a replay's weekly.csv, and every kind of bad
input as one sentence with exit code 2 and nothing stored."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from advice import skill
from orchard.errors import InputError

OBS = "scouting_2016.csv"
FORECASTS = "forecasts_2016.csv"
#: What the hand-made file must give (pest, season) -> counts; see each row's note in the CSV.
EXPECTED = {
    ("mites", 2016): dict(n_observations=6, n_matched=5, n_observed_outbreaks=3, hits=1, misses=2,
                          false_alarms=1, correct_negatives=1, hit_rate=1 / 3, false_alarm_ratio=0.5,
                          false_alarm_rate=0.5, mean_lead_days=4.0),
    ("black_spot", 2016): dict(n_observations=2, n_matched=2, n_observed_outbreaks=1, hits=1, misses=0,
                               false_alarms=1, correct_negatives=0, hit_rate=1.0, false_alarm_ratio=0.5,
                               false_alarm_rate=1.0, mean_lead_days=10.0),
    ("canker", 2016): dict(n_observations=1, n_matched=1, n_observed_outbreaks=1, hits=0, misses=1,
                           false_alarms=0, correct_negatives=0, hit_rate=0.0, false_alarm_ratio=None,
                           false_alarm_rate=None, mean_lead_days=None),
    ("mites", 2015): dict(n_observations=1, n_matched=0, n_observed_outbreaks=0, hits=0, misses=0,
                          false_alarms=0, correct_negatives=0, hit_rate=None, false_alarm_ratio=None,
                          false_alarm_rate=None, mean_lead_days=None),
}
PLOTS = [f"CT{i:02d}" for i in range(1, 31)]


def check_table(rows):
    got = {(r["pest"], r["season"]): r for r in rows}
    assert set(got) == set(EXPECTED)
    for key, expected in EXPECTED.items():
        for column, value in expected.items():
            cell = got[key][column]
            if value is None:
                assert cell is None or (isinstance(cell, float) and math.isnan(cell)), (key, column, cell)
            else:
                assert cell == pytest.approx(value), (key, column, cell)


@pytest.fixture
def observations(test_data_dir):
    frame = pd.read_csv(test_data_dir / "skill" / OBS, dtype=str, keep_default_na=False)
    return skill.check_observations(frame, PLOTS, where=OBS)


@pytest.fixture
def forecasts(test_data_dir):
    weekly = pd.read_csv(test_data_dir / "skill" / FORECASTS, dtype={"plot_id": str})
    return skill.forecasts_from_weekly(weekly)


# ----------------------------------------------------------------------------------------------------------
# The pure functions
# ----------------------------------------------------------------------------------------------------------
def test_hand_made_file_scores_as_expected(observations, forecasts):
    matched = skill.match_forecasts(observations, forecasts, max_lead_days=15)
    assert list(matched["lead_days"].fillna(-1)) == [4, 2, 12, 0, -1, 2, 10, 15, 2, -1]
    assert list(matched["level_15d"].fillna(0)) == [4, 2, 2, 5, 0, 1, 4, 4, 3, 0]
    table = skill.skill_table(matched)
    assert [(r.pest, r.season) for r in table.itertuples()] == [("black_spot", 2016), ("canker", 2016),
                                                                  ("mites", 2015), ("mites", 2016)]
    check_table(table.to_dict("records"))


def test_outbreak_level_and_thresholds_are_parameters(observations, forecasts):
    params = skill.skill_parameters()
    assert params["forecast.outbreak_level"] == 4 and params["observed.mites_per_leaf"] == 2.0
    assert params.entry("observed.canker_incidence").assumption
    matched = skill.match_forecasts(observations, forecasts, max_lead_days=15)
    # Level 5 only: the 1 April level 4 is no longer a warning, so that mite hit becomes a miss.
    strict = skill.skill_table(matched, params.with_overrides({"forecast.outbreak_level": 5}))
    mites = strict.set_index(["pest", "season"]).loc[("mites", 2016)]
    assert (mites["hits"], mites["misses"], mites["false_alarms"]) == (0, 3, 1)
    # A mite threshold of 3 per leaf: 2.5 and 2.0 are no longer outbreaks (misses -> correct negatives).
    lenient = skill.skill_table(matched, params.with_overrides({"observed.mites_per_leaf": 3.0}))
    mites = lenient.set_index(["pest", "season"]).loc[("mites", 2016)]
    assert (mites["hits"], mites["misses"], mites["correct_negatives"]) == (1, 0, 3)
    # A 10-day window: the 15-day-old black-spot forecast and the 12-day-old mite one no longer count.
    short = skill.skill_table(skill.match_forecasts(observations, forecasts, 10), params)
    assert short.set_index(["pest", "season"]).loc[("mites", 2016), "n_matched"] == 4
    assert short.set_index(["pest", "season"]).loc[("black_spot", 2016), "n_matched"] == 1


def test_forecasts_from_stored_status_rows():
    status = pd.DataFrame([
        {"plot_id": "CT01", "issued_on": "2016-04-01",
         "pests": {"mites": {"15d": {"level": 4, "probability": 0.8}, "1m": {"level": 3, "probability": 0.5}},
                   "canker": {"15d": {"level": 2, "probability": 0.1}}}},
        {"plot_id": "CT02", "issued_on": "2016-04-01", "pests": None},
    ])
    fc = skill.forecasts_from_status(status)
    assert fc.to_dict("records") == [
        {"plot_id": "CT01", "issued_on": pd.Timestamp("2016-04-01"), "pest": "canker", "level_15d": 2.0},
        {"plot_id": "CT01", "issued_on": pd.Timestamp("2016-04-01"), "pest": "mites", "level_15d": 4.0}]


# ----------------------------------------------------------------------------------------------------------
# Bad observations: one sentence naming the row and the column
# ----------------------------------------------------------------------------------------------------------
HEADER = "plot_id,date,pest,mites_per_leaf,incidence_pct,observer,note\n"
GOOD = "CT01,2016-04-05,mites,3.0,,Zhao,\n"


@pytest.mark.parametrize("row, message", [
    ("CT99,2016-04-05,mites,1,,,",
     "row 3: plot_id 'CT99' is not a known plot; check the id (orchard plots)."),
    (",2016-04-05,mites,1,,,", "row 3: column plot_id is empty; give the plot's id."),
    ("CT01,2016-04-05,aphids,1,,,",
     "row 3: pest 'aphids' is not one of black_spot, canker, mites, leaf_miner; correct the column pest."),
    ("CT01,2016-04-05,mites,-1,,,",
     "row 3: mites_per_leaf -1 is negative; a count or a share cannot be below 0."),
    ("CT01,2016-04-05,canker,,120,,",
     "row 3: incidence_pct 120 is above 100 %; give the share of leaves or fruit affected in % (0-100)."),
    ("CT01,2016-04-05,mites,many,,,", "row 3: mites_per_leaf 'many' is not a number; write e.g. 1.5."),
    ("CT01,2016-04-05,leaf_miner,,nan,,",
     "row 3: incidence_pct 'nan' is not a number; write e.g. 12 (for 12 %)."),
    ("CT01,05/04/2016,mites,1,,,", "row 3: date '05/04/2016' is not a date; write it as YYYY-MM-DD."),
    ("CT01,2016-02-30,mites,1,,,", "row 3: date '2016-02-30' is not a date; write it as YYYY-MM-DD."),
    ("CT01,2016-04-05,mites,,,,", "row 3: column mites_per_leaf is empty; a mites observation needs the mean "
                                  "mites per leaf."),
    ("CT01,2016-04-05,black_spot,2,,,",
     "row 3: a black_spot observation takes incidence_pct, not mites_per_leaf; move the value to column "
     "incidence_pct."),
])
def test_bad_rows_are_one_sentence(row, message):
    frame = pd.read_csv(pd.io.common.StringIO(HEADER + GOOD + row + "\n"), dtype=str, keep_default_na=False)
    with pytest.raises(InputError) as info:
        skill.check_observations(frame, PLOTS, where="obs.csv")
    assert str(info.value) == f"obs.csv {message}"


def test_empty_trailing_spreadsheet_columns_are_ignored():
    text = "plot_id,date,pest,mites_per_leaf,,\nCT01,2016-04-05,mites,1,,\n"
    frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
    assert list(skill.check_observations(frame, PLOTS)["value"]) == [1.0]


@pytest.mark.parametrize("text, message", [
    ("plot_id,date,mites_per_leaf\nCT01,2016-04-05,1\n", "obs.csv: there is no column 'pest'"),
    ("plot_id,date,pest\nCT01,2016-04-05,mites\n", "obs.csv: there is no measure column"),
    ("plot_id,date,pest,mites_per_leaf,count\nCT01,2016-04-05,mites,1,3\n",
     "obs.csv: column 'count' is not known"),
    (HEADER, "obs.csv: there are no observations below the header"),
])
def test_bad_files_are_one_sentence(text, message):
    frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
    with pytest.raises(InputError, match=message):
        skill.check_observations(frame, PLOTS, where="obs.csv")


# ----------------------------------------------------------------------------------------------------------
# `orchard skill` on the sample district
# ----------------------------------------------------------------------------------------------------------
def store_runs(forecasts_csv):
    """The hand-made forecasts as stored weekly runs (one run per issue date, plot_status rows)."""
    from orchard import store
    from orchard.cli_common import engine

    weekly = pd.read_csv(forecasts_csv)
    with store.session_scope(engine()) as session:
        for issued, day in weekly.groupby("issued_on"):
            run_id = f"week-{issued}"
            session.add(store.AdviceRun(run_id=run_id, issued_on=pd.Timestamp(issued).date(), n_plots=0))
            session.flush()
            for plot_id, rows in day.groupby("plot_id"):
                pests = {r.pest: {"15d": {"level": int(r.level_15d), "probability": r.probability_15d}}
                         for r in rows.itertuples()}
                session.add(store.PlotStatus(run_id=run_id, plot_id=plot_id, results_chunk=0, pests=pests,
                                             issued_on=pd.Timestamp(issued).date()))


def n_stored():
    from orchard import store
    from orchard.cli_common import engine

    with store.session_scope(engine()) as session:
        return len(store.list_scouting_observations(session))


def test_cli_scores_stored_runs_and_a_replay_alike(sample_home_copy, run_cli, test_data_dir, tmp_path):
    from tests.advice.replay_dirs import write_replay

    obs = test_data_dir / "skill" / OBS
    store_runs(test_data_dir / "skill" / FORECASTS)
    code, out, err = run_cli(["skill", str(obs), "--json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["forecasts"] == "stored runs" and report["n_unmatched"] == 2
    assert "2 of 10 observations have no forecast issued 0-15 days before them" in err
    check_table(report["skill"])
    assert report["outbreak_level"] == 4 and report["observed_thresholds"]["mites"] == 2.0

    folder = write_replay(tmp_path, 2016, "advice",
                          weekly=pd.read_csv(test_data_dir / "skill" / FORECASTS, dtype={"plot_id": str}))
    code, out, err = run_cli(["skill", str(obs), "--replay", str(folder), "--json"])
    assert code == 0, err
    assert json.loads(out)["forecasts"] == f"replay {folder}"
    check_table(json.loads(out)["skill"])
    code, out, err = run_cli(["skill", str(obs), "--replay", str(tmp_path / "nowhere")])
    assert code == 2 and "there is no replay here" in err

    # The table view, and the observations stored then scored without a CSV.
    code, out, err = run_cli(["skill", str(obs), "--store", "--user", "agronomist_zhao"])
    assert code == 0 and "hit_rate" in out and "10 observations stored." in err
    assert n_stored() == 10
    code, out, err = run_cli(["skill", "--json"])
    assert code == 0, err
    assert json.loads(out)["observations"] == "stored observations"
    check_table(json.loads(out)["skill"])
    code, out, err = run_cli(["skill", "--json", "--season", "2015"])
    assert code == 0 and [(r["pest"], r["season"]) for r in json.loads(out)["skill"]] == [("mites", 2015)]
    code, out, err = run_cli(["skill", "--season", "2014"])
    assert code == 2 and "there are no observations in 2014 (stored observations)" in err


@pytest.mark.parametrize("row, message", [
    ("CT99,2016-04-05,mites,1,,,", "row 3: plot_id 'CT99' is not a known plot"),
    ("CT01,2016-04-05,aphids,1,,,", "row 3: pest 'aphids' is not one of"),
    ("CT01,2016-04-05,mites,-2,,,", "row 3: mites_per_leaf -2 is negative"),
    ("CT01,2016-04-05,canker,,101,,", "row 3: incidence_pct 101 is above 100 %"),
    ("CT01,2016-04-05,mites,lots,,,", "row 3: mites_per_leaf 'lots' is not a number"),
    ("CT01,2016-13-01,mites,1,,,", "row 3: date '2016-13-01' is not a date"),
])
def test_cli_bad_input_exit_2_nothing_stored(sample_home_copy, run_cli, tmp_path, row, message):
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + GOOD + row + "\n", encoding="utf-8")
    code, out, err = run_cli(["skill", str(path), "--store", "--user", "agronomist_zhao"])
    assert code == 2 and out == ""
    assert err.startswith(f"orchard: error: {path} {message}") and err.count("\n") == 1
    assert n_stored() == 0


def test_cli_bad_files_and_options(sample_home_copy, run_cli, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    code, _, err = run_cli(["skill", str(empty)])
    assert code == 2 and "the observation CSV is empty" in err
    code, _, err = run_cli(["skill"])
    assert code == 2 and "no scouting observations are stored" in err
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD, encoding="utf-8")
    code, _, err = run_cli(["skill", str(good), "--store"])
    assert code == 2 and "--store needs --user" in err
    # A grower may not record on another grower's plot (CT30 is grower_chen's): "not a known plot", whether
    # it exists or not.
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "CT30,2016-04-05,mites,1,,,\n", encoding="utf-8")
    code, _, err = run_cli(["skill", str(other), "--store", "--user", "grower_li"])
    assert code == 2 and "plot_id 'CT30' is not a known plot" in err
    assert n_stored() == 0
