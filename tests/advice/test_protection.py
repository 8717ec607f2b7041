"""Spray decisions with memory (advice.protection): the check-values of the science note decisions.md."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from advice import protection, rules
from advice.catalogue import default_catalogue
from advice.chain import merge_sprays
from advice.recommendation import Recommendation


@pytest.fixture(scope="module")
def params():
    return protection.protection_parameters()


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


def _end(residual, rain_by_day, washes_off=True, start=0, n_days=40):
    rain = np.zeros((n_days, 1))
    for day, mm in rain_by_day.items():
        rain[day, 0] = mm
    return float(protection.protection_end([start], [residual], [washes_off], rain, [0])[0])


def test_rain_beyond_the_wash_off_ends_protection():
    # decisions.md check-value 1: 50 mm on day 2 -> not protected from day 2
    assert _end(14, {2: 50.0}) == 2.0
    # check-value 2: 10-d residual, 30 mm on day 2 -> ends on day 2 + (10 - 2) / 2 = 6
    assert _end(10, {2: 30.0}) == 6.0
    # no rain: the full residual
    assert _end(10, {}) == 10.0


def test_only_counted_rain_washes_off():
    # check-value 3: days of 1.5 mm are not counted; 3 + 3 mm count 6 mm
    assert _end(10, {d: 1.5 for d in range(1, 10)}) == 10.0
    rain = np.zeros((20, 1))
    rain[[1, 2], 0] = [24.0, 3.0]  # 27 mm counted by day 2: halves the days left from day 2
    assert protection.protection_end([0], [10], [True], rain, [0])[0] == 6.0
    rain[[1, 2], 0] = [24.0, 1.5]  # 1.5 mm does not count: 24 mm stays under 25
    assert protection.protection_end([0], [10], [True], rain, [0])[0] == 10.0


def test_copper_is_more_rain_fast(catalogue, params):
    # Vicent et al. 2007: copper on fruit withstood 71 mm; mancozeb follows the 25/50 mm rule
    table = protection.product_protection(catalogue, params).set_index(["product_id", "pest"])
    copper = table.loc[("cu_hydroxide_77wp", "black_spot")]
    contact = table.loc[("mancozeb_80wp", "black_spot")]
    rain = np.zeros((40, 2))
    rain[3, :] = 60.0
    end = protection.protection_end([0, 0], [copper.residual_d, contact.residual_d], [True, True], rain, [0, 1],
                                    halve_mm=[copper.halve_mm, contact.halve_mm],
                                    end_mm=[copper.end_mm, contact.end_mm])
    assert end[1] == 3.0  # 60 mm ends mancozeb on day 3
    assert end[0] == 3.0 + (copper.residual_d - 3.0) / 2.0  # and only halves what copper has left


def test_rainfast_products_keep_their_residual():
    assert _end(30, {2: 80.0}, washes_off=False) == 30.0


def test_rain_before_the_spray_does_not_count():
    assert _end(10, {4: 60.0}, start=5) == 15.0


def test_copper_per_spray_and_product_kinds(catalogue, params):
    content = protection.copper_content(catalogue)
    # check-value 14: 77 % Cu(OH)2 WP at 1000x and 3000 L/ha -> 1.50 kg Cu/ha
    assert 3.0 * content["cu_hydroxide_77wp"] == pytest.approx(1.50, abs=0.01)
    assert content["mancozeb_80wp"] == 0.0
    table = protection.product_protection(catalogue, params).set_index(["product_id", "pest"])
    assert table.loc[("cu_hydroxide_77wp", "canker"), "kind"] == "copper"
    assert bool(table.loc[("cu_hydroxide_77wp", "canker"), "washes_off"])
    assert table.loc[("pyraclostrobin_25ec", "black_spot"), "curative_h"] == 48.0
    assert table.loc[("mancozeb_80wp", "black_spot"), "curative_h"] == 0.0
    assert table.loc[("mancozeb_80wp", "black_spot"), "residual_d"] == params["residual.contact_fruit_d"]
    # abamectin holds mites 15 d but protects new flush against leaf miner only as a foliar insecticide
    assert table.loc[("abamectin_18ec", "mites"), "residual_d"] == 15.0
    assert table.loc[("abamectin_18ec", "leaf_miner"), "residual_d"] == params["residual.insecticide_d"]
    assert ("imidacloprid_10wp", "mites") not in table.index


def test_acaricides_protect_for_their_residual(catalogue, params):
    # check-value 9: abamectin on 1 April protects mites to 15 April, spirodiclofen to 30 April
    table = protection.product_protection(catalogue, params)
    apps = pd.DataFrame(
        {
            "plot_id": ["A", "B"],
            "product_id": ["abamectin_18ec", "spirodiclofen_240sc"],
            "applied_on": [date(2016, 4, 1)] * 2,
        }
    )
    deps = protection.deposits(apps, table)
    times = pd.date_range("2016-03-01", "2016-04-05")
    state = protection.protection_state(
        deps, date(2016, 4, 5), times, np.zeros((len(times), 2)), ["A", "B"], ["mites"], params
    )
    until = [date(2016, 4, 5) + pd.Timedelta(days=int(np.ceil(e)) - 1) for e in state["end_offset"][:, 0]]
    assert [d.date() if hasattr(d, "date") else d for d in until] == [date(2016, 4, 15), date(2016, 4, 30)]
    assert list(state["days_since_spray"]) == [4.0, 4.0]


def _decide(params, **kw):
    n = 1
    base = dict(
        level=[4],
        severity_daily=np.full((n, 15), 0.2),
        end_offset=[-np.inf],
        days_since_spray=[np.inf],
        days_since_event=[np.nan],
        protected_at_event=[False],
        curative_window_d=[2.0],
        min_severity=[0.5],
    )
    base.update(kw)
    return protection.spray_decisions(params=params, **base)["decision"][0]


def test_escalating_level_after_a_spray(params):
    # check-value 8 mapped to levels (PFD-FAD): 9 d after a spray level 4 is not enough, level 5 is; 5 d after
    # a spray even level 5 waits
    assert _decide(params, level=[4], days_since_spray=[9.0]) == "low_risk"
    assert _decide(params, level=[5], days_since_spray=[9.0]) == "spray"
    assert _decide(params, level=[5], days_since_spray=[5.0]) == "too_soon"
    assert _decide(params, level=[4], days_since_spray=[20.0]) == "spray"
    assert _decide(params, level=[3]) == "low_risk"


def test_a_live_deposit_covers_the_days_at_risk(params):
    severity = np.zeros((1, 15))
    severity[0, 3:6] = 0.5  # risk on lead days 4-6
    assert _decide(params, severity_daily=severity, end_offset=[10.0], days_since_spray=[20.0]) == "protected"
    # the deposit ends on day 5: day 5-6 are open, 1.0 expected -> spray, by the day before day 5
    out = protection.spray_decisions(
        level=[4],
        severity_daily=severity,
        end_offset=[5.0],
        days_since_spray=[20.0],
        days_since_event=[np.nan],
        protected_at_event=[False],
        curative_window_d=[0.0],
        min_severity=[0.5],
        params=params,
    )
    assert out["decision"][0] == "spray" and out["first_day"][0] == 5
    # severity below the threshold on open days: low risk, whatever the level
    assert _decide(params, level=[5], severity_daily=np.full((1, 15), 0.01)) == "low_risk"


def test_curative_window_closes(params):
    quiet = np.zeros((1, 15))  # no risk ahead: only the past event matters
    # check-value 7 in days: a systemic product 1 d after an unprotected event cures; 3 d after it is missed
    assert (
        _decide(params, level=[4], days_since_event=[1.0], curative_window_d=[2.0], severity_daily=quiet)
        == "curative"
    )
    assert (
        _decide(params, level=[4], days_since_event=[3.0], curative_window_d=[2.0], severity_daily=quiet)
        == "missed"
    )
    # a window that closes on the issue day cannot be met by a grower reading the advice that day (issue #19)
    assert (
        _decide(params, level=[4], days_since_event=[2.0], curative_window_d=[2.0], severity_daily=quiet)
        == "missed"
    )
    # canker: copper is protect-only, no window
    assert (
        _decide(params, level=[4], days_since_event=[0.0], curative_window_d=[0.0], severity_daily=quiet)
        == "missed"
    )
    # a curative spray is a spray: not at a low level, not within the minimum interval after a spray
    assert (
        _decide(params, level=[2], days_since_event=[1.0], curative_window_d=[2.0], severity_daily=quiet)
        == "missed"
    )
    assert (
        _decide(
            params,
            level=[4],
            days_since_event=[1.0],
            curative_window_d=[2.0],
            days_since_spray=[5.0],
            severity_daily=quiet,
        )
        != "curative"
    )
    # a protected event is neither
    assert (
        _decide(params, level=[1], days_since_event=[1.0], protected_at_event=[True], severity_daily=quiet)
        == "low_risk"
    )


def test_spray_rule_names_the_protection(params):
    decisions = pd.DataFrame(
        [
            {
                "plot_id": "CT01",
                "pest": "canker",
                "decision": "protected",
                "level_15d": 4,
                "severity_unprotected": 0.1,
                "severity_total": 1.2,
                "first_day": 0,
                "protected_until": date(2016, 7, 26),
                "product_id": "cu_hydroxide_77wp",
                "applied_on": date(2016, 7, 12),
                "rain_counted_mm": 12.0,
                "days_since_event": np.nan,
                "days_since_spray": 4.0,
                "curative_days_left": np.nan,
            }
        ]
    )
    recs = rules.spray_rule(decisions, date(2016, 7, 16), params, "test")
    assert (
        len(recs) == 1 and recs[0].topic == "skip_spray" and recs[0].action_key == "advice.action.protected"
    )
    assert "2016-07-12 cu_hydroxide_77wp spray until ~2016-07-26 unless more than 38 mm" in recs[0].evidence
    spray = decisions.assign(decision="spray", first_day=3, severity_unprotected=0.8)
    recs = rules.spray_rule(spray, date(2016, 7, 16), params, "test")
    # the first expected infection is on lead day 3 (19 July): spray before that day's rain
    assert recs[0].topic == "spray" and recs[0].valid_to == date(2016, 7, 19)
    assert rules.spray_rule(decisions.assign(decision="low_risk"), date(2016, 7, 16), params, "x") == []


def _spray(pest, product, severity=4):
    r = Recommendation(
        plot_id="CT01",
        issued_on=date(2016, 6, 1),
        valid_from=date(2016, 6, 1),
        valid_to=date(2016, 6, 5),
        topic="spray",
        severity=severity,
        action_key="advice.action.spray_protective",
        reason_key="x",
        module="pests",
        action_numbers={"pest": pest},
    )
    r.products = [{"product_id": product}]
    return r


def test_one_spray_covers_every_pest_its_product_controls():
    recs = merge_sprays(
        [
            _spray("canker", "cu_hydroxide_77wp", 5),
            _spray("black_spot", "mancozeb_80wp"),
            _spray("mites", "spirodiclofen_240sc"),
        ]
    )
    pests = sorted(r.action_numbers["pest"] for r in recs)
    assert pests == ["canker", "mites"]
    copper = next(r for r in recs if r.action_numbers["pest"] == "canker")
    assert copper.action_numbers["also_controls"] == ["black_spot"]


def test_tank_mix_adds_lesser_risks_to_a_spray_day(params):
    # plot A is sprayed for canker this week: its black spot at the tank-mix level with 0.3 expected
    # (>= 0.4 x 0.5) joins the spray; plot B has no spray, its identical black spot stays low risk; a level
    # below the tank-mix level never joins
    mix = int(params["decision.tank_mix_level"])
    out = protection.tank_mix(
        ["A", "A", "B", "B", "A"], ["spray", "low_risk", "low_risk", "low_risk", "low_risk"],
        [4, mix, 4, mix, mix - 1], [1.0, 0.3, 0.1, 0.3, 0.9], [0.5] * 5, params)
    assert list(out) == ["spray", "tank_mix", "low_risk", "low_risk", "low_risk"]
    assert list(protection.min_severity(["canker", "leaf_miner"], params)) == [
        params["decision.min_severity_canker"], params["decision.min_severity_leaf_miner"]]


def test_leaf_miner_sprays_only_on_young_trees(params):
    # pests.md section 7: trees over 4 years are not significantly affected; unknown ages keep the advice
    pests = ["canker", "leaf_miner"]
    out = protection.min_severity(pests, params, tree_age_y=[2.0, 12.0, np.nan])
    assert out.shape == (3, 2)
    assert np.isfinite(out[0, 1]) and np.isinf(out[1, 1]) and np.isfinite(out[2, 1])
    assert (out[:, 0] == params["decision.min_severity_canker"]).all()
    decision = protection.spray_decisions(
        level=[5, 5], severity_daily=np.full((2, 15), 0.1), end_offset=[-np.inf] * 2,
        days_since_spray=[np.inf] * 2, days_since_event=[np.nan] * 2, protected_at_event=[False] * 2,
        curative_window_d=[0.0] * 2, min_severity=out[:2, 1], params=params)["decision"]
    assert list(decision) == ["spray", "low_risk"]


def test_a_spray_without_any_product_becomes_a_note_saying_why():
    from advice.chain import _capped

    capped, phi = _spray("canker", "x"), _spray("mites", "x")
    capped.products, phi.products = [], []
    capped.plot_id = "CU"
    out = _capped([capped, phi, _spray("black_spot", "mancozeb_80wp")], {"CU": frozenset({"cu_hydroxide_77wp"})})
    assert [r.action_key for r in out] == ["advice.action.copper_cap", "advice.action.no_product",
                                           "advice.action.spray_protective"]
    assert [r.topic for r in out] == ["skip_spray", "skip_spray", "spray"]


def test_products_are_ranked_by_cost_per_day_of_protection_with_the_spraying_included(catalogue, params):
    from advice.chain import rank_by_protection

    table = protection.product_protection(catalogue, params)
    rec = _spray("mites", "abamectin_18ec")
    rec.products = [{"product_id": "abamectin_18ec", "cost_cny": 22.5},  # 15 d
                    {"product_id": "hexythiazox_5ec", "cost_cny": 67.5},  # 30 d
                    {"product_id": "mineral_oil_99ec", "cost_cny": 225.0}]  # 7 d
    rank_by_protection([rec], table)  # product cost alone: 1.5, 2.25, 32 CNY per day
    assert [p["product_id"] for p in rec.products] == ["abamectin_18ec", "hexythiazox_5ec", "mineral_oil_99ec"]
    # a spray day of 300 CNY/ha on 1 ha: (22.5 + 300) / 15 = 21.5 against (67.5 + 300) / 30 = 12.25
    rank_by_protection([rec], table, pd.Series({"CT01": 1.0}), 300.0)
    assert [p["product_id"] for p in rec.products][:2] == ["hexythiazox_5ec", "abamectin_18ec"]
