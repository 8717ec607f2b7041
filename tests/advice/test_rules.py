"""Advice rules: each fires on a constructed case and stays silent on its opposite."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from advice import rules
from advice.recommendation import Recommendation

ISSUE = date(2016, 7, 15)


@pytest.fixture(scope="module")
def params():
    return rules.rules_parameters()


def _levels(pest="black_spot", level=4, probability=0.9):
    return pd.DataFrame(
        {"plot_id": ["A"], "pest": [pest], "level_15d": [level], "probability_15d": [probability]}
    )


def _decision(code, level=4, first_day=3, since_event=np.nan, window_left=np.nan):
    return pd.DataFrame([{"plot_id": "A", "pest": "black_spot", "decision": code, "level_15d": level,
                          "probability_15d": 0.9, "severity_unprotected": 0.8, "severity_total": 0.8,
                          "first_day": first_day, "protected_until": None, "product_id": "",
                          "applied_on": None,
                          "rain_counted_mm": 0.0, "days_since_event": since_event, "days_since_spray": np.inf,
                          "curative_days_left": window_left}])


def test_spray_rule_fires_on_a_spray_decision_and_not_on_low_risk():
    from advice.protection import protection_parameters

    p = protection_parameters()
    recs = rules.spray_rule(_decision("spray"), ISSUE, p, "forecast")
    assert len(recs) == 1 and recs[0].topic == "spray" and recs[0].severity == 4
    # the window ends on the first day an infection is expected (lead day 3): spray before that day's rain
    assert recs[0].valid_to == date(2016, 7, 18) and recs[0].action_numbers["pest"] == "black_spot"
    assert recs[0].action_numbers["window_to"] == "2016-07-18" and recs[0].action_numbers["before_rain"]
    curative = rules.spray_rule(_decision("curative", since_event=0.0, window_left=2.0), ISSUE, p, "forecast")
    assert curative[0].severity == 5 and curative[0].action_key == "advice.action.spray_curative"
    assert curative[0].valid_to == date(2016, 7, 17) and not curative[0].action_numbers["before_rain"]
    missed = rules.spray_rule(_decision("missed", since_event=4.0), ISSUE, p, "forecast")
    assert missed[0].topic == "scout" and missed[0].valid_from == date(2016, 7, 21)
    assert rules.spray_rule(_decision("low_risk"), ISSUE, p, "x") == []


@pytest.mark.parametrize(("code", "first_day", "window_left"),
                         [("spray", 1, np.nan), ("spray", 0, np.nan), ("curative", 0, 0.4),
                          ("tank_mix", 0, np.nan)])
def test_every_spray_window_ends_after_the_issue_day(code, first_day, window_left):
    from advice.protection import protection_parameters

    rec = rules.spray_rule(_decision(code, first_day=first_day, window_left=window_left), ISSUE,
                           protection_parameters(), "forecast")[0]
    assert rec.action_numbers["window_from"] == str(ISSUE)
    assert rec.valid_to > ISSUE and rec.action_numbers["window_to"] == str(rec.valid_to)


def test_skip_spray_only_in_the_calendar_months_and_at_low_risk(params):
    low = _levels(level=1, probability=0.05)
    assert [r.topic for r in rules.skip_spray_rule(low, ISSUE, params, "x")] == ["skip_spray"]
    assert rules.skip_spray_rule(_levels(level=4), ISSUE, params, "x") == []
    assert rules.skip_spray_rule(low, date(2016, 1, 15), params, "x") == []  # no calendar spray in January


def test_scout_for_mites_at_the_scouting_level_only(params):
    assert [r.topic for r in rules.scout_rule(_levels("mites", 3, 0.5), ISSUE, params, "x")] == ["scout"]
    assert rules.scout_rule(_levels("mites", 1, 0.1), ISSUE, params, "x") == []
    assert rules.scout_rule(_levels("black_spot", 3, 0.5), ISSUE, params, "x") == []


def _irrigation(irrigate):
    return pd.DataFrame(
        {
            "plot_id": ["A"],
            "irrigate": [irrigate],
            "net_mm": [25.0 if irrigate else 0.0],
            "gross_mm": [28.0 if irrigate else 0.0],
            "hours": [6.5 if irrigate else np.nan],
            "depletion_mm": [70.0 if irrigate else 20.0],
            "raw_mm": [50.0],
            "ks": [0.8 if irrigate else 1.0],
            "reason": ["depletion past RAW" if irrigate else "no irrigation needed"],
        }
    )


def test_irrigation_is_more_urgent_while_the_fruit_expands():
    expanding = rules.irrigate_rule(_irrigation(True), pd.Series({"A": 4}), ISSUE, "balance")
    ripening = rules.irrigate_rule(_irrigation(True), pd.Series({"A": 5}), ISSUE, "balance")
    assert expanding[0].severity == 4 and ripening[0].severity == 3
    assert expanding[0].action_numbers == {"net_mm": 25.0, "gross_mm": 28.0, "hours": 6.5}
    assert rules.irrigate_rule(_irrigation(False), pd.Series({"A": 4}), ISSUE, "balance") == []


def test_nitrogen_split_by_window_and_not_after_a_recent_dose(params):
    plots = pd.DataFrame({"area_ha": [2.0]}, index=["A"])
    rate = pd.Series({"A": 300.0})
    july = rules.nitrogen_rule(plots, pd.Series({"A": 4}), ISSUE, pd.Series({"A": False}), params, rate, "x")
    assert july[0].action_numbers["window"] == "fruit_enlargement"
    assert july[0].action_numbers["kg_n_per_ha"] == pytest.approx(300 * 0.35)
    assert july[0].action_numbers["kg_n_plot"] == pytest.approx(2 * 300 * 0.35)
    assert (
        rules.nitrogen_rule(plots, pd.Series({"A": 4}), ISSUE, pd.Series({"A": True}), params, rate, "x")
        == []
    )
    assert (
        rules.nitrogen_rule(
            plots, pd.Series({"A": 4}), date(2016, 6, 15), pd.Series({"A": False}), params, rate, "x"
        )
        == []
    )  # June: no N window


def test_harvest_window_from_expected_maturity(params):
    expected = pd.DataFrame(
        {
            "plot_id": ["N", "S"],
            "maturity_p10": pd.to_datetime(["2017-01-20", "2016-12-20"]),
            "maturity_p50": pd.to_datetime(["2017-02-01", "2017-01-02"]),
            "maturity_p90": pd.to_datetime(["2017-02-15", "2017-01-15"]),
            "maturity_delay_days": [12.0, -3.0],
        }
    )
    recs = {
        r.plot_id: r for r in rules.harvest_rule(expected, pd.Series({"N": 4, "S": 4}), ISSUE, params, "x")
    }
    assert recs["N"].valid_from > recs["S"].valid_from
    assert recs["N"].severity == 1 and "+12 days" in recs["N"].evidence
    soon = rules.harvest_rule(expected, pd.Series({"N": 4, "S": 4}), date(2016, 12, 10), params, "x")
    assert {r.plot_id: r.severity for r in soon} == {"N": 1, "S": 3}


def test_conflicts_and_order(params):
    def rec(topic, severity, valid_to, pest=None, plot="A", key="k"):
        return Recommendation(
            plot_id=plot,
            issued_on=ISSUE,
            valid_from=ISSUE,
            valid_to=valid_to,
            topic=topic,
            severity=severity,
            action_key=key,
            reason_key="r",
            module="m",
            action_numbers={"pest": pest} if pest else {},
        )

    spray = rec("spray", 4, ISSUE + timedelta(days=3), "black_spot")
    skip = rec("skip_spray", 1, ISSUE + timedelta(days=14), "black_spot",
               key="advice.action.skip_calendar_spray")
    water = rec("irrigate", 3, ISSUE + timedelta(days=3))
    kept = rules.resolve_conflicts(
        [spray, skip, water],
        {"A": ISSUE + timedelta(days=40)},
        {"black_spot": 21},
        rain_forecast_mm={"A": 30.0},
        params=params,
    )
    assert kept == [spray]  # skip contradicts the spray; rain is forecast
    mite_spray, scout = rec("spray", 3, ISSUE, "mites"), rec("scout", 2, ISSUE)
    assert rules.resolve_conflicts([mite_spray, scout], {}, {}) == [mite_spray]
    assert rules.resolve_conflicts([scout], {}, {}) == [scout]
    # a pre-harvest interval reaching past the harvest start removes the spray
    assert rules.resolve_conflicts([spray], {"A": ISSUE + timedelta(days=10)}, {"black_spot": 21}) == []
    ordered = rules.order([rec("harvest", 1, ISSUE + timedelta(days=90)), water, spray])
    assert [r.topic for r in ordered] == ["spray", "irrigate", "harvest"]


def test_recommendation_rejects_unknown_topic_and_severity():
    with pytest.raises(ValueError, match="unknown topic"):
        Recommendation("A", ISSUE, ISSUE, ISSUE, "pray", 3, "k", "r", "m")
    with pytest.raises(ValueError, match="severity 7 is not 1-5"):
        Recommendation("A", ISSUE, ISSUE, ISSUE, "spray", 7, "k", "r", "m")
