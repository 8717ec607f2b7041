"""Season replay following a programme (advice.replay, advice.season_report): advised sprays become the next
dates' applications, both programmes are measured on the same weather, and bad input stores nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from advice import protection, season_report
from advice.accounting import load_baseline
from advice.catalogue import default_catalogue
from advice.replay import replay_season, write_replay
from advice.replay_store import read_replay_dir
from orchard import config, store
from orchard.errors import InputError

PLOTS = ["CT01", "CT13", "CT18", "CT29"]
# weekly through the wet early summer of 2016: sprays, protection and the escalation all come up
DATES = [d.date() for d in pd.date_range("2016-05-02", "2016-07-25", freq="7D")]


@pytest.fixture(scope="module")
def home(sample_home):
    mp = pytest.MonkeyPatch()
    mp.setenv("ORCHARD_HOME", str(sample_home))
    mp.delenv("ORCHARD_DB_URL", raising=False)
    yield sample_home
    mp.undo()


@pytest.fixture(scope="module")
def replayed(home):
    engine = store.init_db(config.database_url())
    return replay_season(engine, dates=DATES, plot_ids=PLOTS, follow="advice")


def test_followed_sprays_are_seen_by_the_next_dates(replayed):
    apps = replayed.applications
    assert len(apps) > 0 and set(apps["plot_id"]) <= set(PLOTS)
    weekly = replayed.weekly
    # a spray on one date protects the next: some pest on a sprayed plot is 'protected' a week later
    first = apps.sort_values("applied_on").iloc[0]
    later = weekly[(weekly["plot_id"] == first["plot_id"])
                   & (pd.to_datetime(weekly["issued_on"]) > first["applied_on"])]
    assert (later["decision"] == "protected").any() or (later["decision"] == "too_soon").any()
    # never two sprays on one plot within the minimum interval unless curative
    days = apps.groupby("plot_id")["applied_on"].apply(lambda s: np.diff(np.sort(s.unique())))
    gaps = np.concatenate([d.astype("timedelta64[D]").astype(int) for d in days if len(d)])
    assert (gaps >= 7).all()


def test_advised_sprays_respect_labels_and_the_copper_cap(replayed):
    plots = replayed.plots.set_index(["programme", "plot_id"])
    advice = plots.loc["advice"]
    assert (advice["label_breaches"] == 0).all()
    assert (advice["kg_cu_ha"] <= protection.protection_parameters()["copper.season_cap_kg_ha"] + 1e-9).all()
    # the calendar programme is measured on the same plots and weather
    assert set(plots.loc["calendar"].index) == set(PLOTS)
    for pest in ("black_spot", "canker", "mites", "leaf_miner"):
        pd.testing.assert_series_equal(advice[f"events_{pest}"], plots.loc["calendar"][f"events_{pest}"])
        assert (advice[f"unprotected_{pest}"] <= advice[f"events_{pest}"]).all()


def test_replay_folder_is_whole_and_readable(replayed, tmp_path):
    folder = write_replay(replayed, tmp_path / "2016-advice")
    assert {p.name for p in folder.iterdir()} == {"summary.json", "plots.csv", "weekly.csv", "season.png"}
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["programmes"]) == {"advice", "calendar"}
    assert summary["programmes"]["calendar"]["sprays"]["median"] == load_baseline()["month_day"].nunique()
    stored = read_replay_dir(folder)
    assert stored.season == 2016 and stored.follow == "advice"
    assert len(stored.weekly) == len(PLOTS) * len(DATES) * 4


def test_unprotected_events_count_only_uncovered_days():
    catalogue = default_catalogue()
    params = protection.protection_parameters()
    times = pd.date_range("2016-06-01", "2016-06-30").values
    events = np.zeros((1, 30, 1), dtype=bool)
    events[0, [2, 10, 25], 0] = True  # infection events on 3, 11 and 26 June
    apps = pd.DataFrame({"plot_id": ["P"], "product_id": ["cu_hydroxide_77wp"], "applied_on": ["2016-06-02"],
                         "amount": [2.81], "unit": ["kg"], "area_ha": [1.0]})
    plots = pd.DataFrame({"plot_id": ["P"], "area_ha": [1.0]})
    dry = season_report.programme_measures(apps, plots, 2016, catalogue, events=events, event_times=times,
                                           pests=["canker"], rain_mm=np.zeros((30, 1)), params=params)
    assert dry["unprotected_canker"].iloc[0] == 1  # copper covers 2-22 June: only the 26 June event is open
    assert dry["kg_cu_ha"].iloc[0] == pytest.approx(2.81 * 0.77 * 0.651, rel=1e-3)
    wet = np.zeros((30, 1))
    wet[5, 0] = 80.0  # 80 mm on 6 June washes the copper off (copper withstands 71 mm, Vicent et al. 2007)
    washed = season_report.programme_measures(apps, plots, 2016, catalogue, events=events, event_times=times,
                                              pests=["canker"], rain_mm=wet, params=params)
    assert washed["unprotected_canker"].iloc[0] == 2
    none = season_report.programme_measures(apps.iloc[:0], plots, 2016, catalogue, events=events,
                                            event_times=times, pests=["canker"], rain_mm=wet, params=params)
    assert none["unprotected_canker"].iloc[0] == 3 and none["sprays"].iloc[0] == 0


def test_a_season_without_weather_or_rain_is_refused(home):
    engine = store.init_db(config.database_url())
    with pytest.raises(InputError, match="no daily weather"):
        replay_season(engine, 2030, plot_ids=PLOTS, follow="advice")
    with pytest.raises(InputError, match="no rainfall"):
        replay_season(engine, dates=["2011-06-01", "2011-06-08"], plot_ids=PLOTS, follow="advice")
    with pytest.raises(InputError, match="not one of advice, calendar"):
        replay_season(engine, dates=DATES[:1], plot_ids=PLOTS, follow="neighbour")


def test_replay_cli_refuses_bad_input_and_writes_nothing(sample_home_copy, capsys):
    from orchard.cli import main as cli_main

    with pytest.raises(SystemExit) as exit_info:
        cli_main(["replay", "--season", "2030", "--plots", "CT01"])
    assert exit_info.value.code in (1, 2)
    err = capsys.readouterr().err
    assert "no daily weather" in err and "Traceback" not in err
    assert not (sample_home_copy / "replays").exists() or not any((sample_home_copy / "replays").iterdir())


@pytest.fixture(scope="module")
def season_2016(home):
    engine = store.init_db(config.database_url())
    return replay_season(engine, 2016, follow="advice")


def test_following_the_advice_cuts_sprays_against_the_calendar_over_a_season(season_2016):
    """Issue 16's measure on the whole sample district, season 2016 (every week 1 March - 29 November): the
    median plot following the advice gets at most 0.7 x the calendar's sprays, TFI and kg a.i./ha, no more
    unprotected infection events, at most 4 kg Cu/ha and no label maximum broken."""
    summary = season_2016.summary["programmes"]
    advice, calendar = summary["advice"], summary["calendar"]
    for measure in ("sprays", "tfi", "kg_ai_ha"):
        assert advice[measure]["median"] <= 0.7 * calendar[measure]["median"], measure
    assert advice["unprotected_infections"]["median"] <= calendar["unprotected_infections"]["median"]
    assert advice["kg_cu_ha"]["p90"] <= protection.protection_parameters()["copper.season_cap_kg_ha"] + 1e-9
    assert advice["label_breaches"]["p90"] == 0
    # the advice responds to the plots: not every plot gets the same programme
    plots = season_2016.plots[season_2016.plots["programme"] == "advice"]
    assert plots["sprays"].nunique() > 1
    # decisions over the season: sprays are a minority of plot-weeks, and protection notes exist
    share = season_2016.weekly["decision"].value_counts(normalize=True)
    assert share.get("spray", 0) < 0.15 and share.get("protected", 0) > 0


def test_plots_planted_after_the_season_are_left_out(home):
    engine = store.init_db(config.database_url())
    replay = replay_season(engine, dates=["2015-06-01", "2015-06-08"], plot_ids=["CT01", "CT04"])
    assert set(replay.status["plot_id"]) == {"CT01"}  # CT04 was planted in 2018
    assert "CT04" in replay.notes["plots"][0]
    with pytest.raises(InputError, match="planted after 2015"):
        replay_season(engine, dates=["2015-06-01"], plot_ids=["CT04"])
