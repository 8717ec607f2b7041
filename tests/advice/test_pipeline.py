"""The weekly pipeline on the sample district (a summer week) and its CLI."""

from __future__ import annotations

import json

import pytest

from advice import pipeline
from orchard import store
from orchard.cli_common import engine_for


@pytest.fixture(scope="module")
def summer_week(sample_home):
    import os

    from orchard import config

    os.environ["ORCHARD_HOME"] = str(sample_home)  # module scope: the session fixture's home, read only below
    try:
        engine = engine_for(config.database_url())
        return pipeline.run_week(engine, "2016-07-15", store_result=False)
    finally:
        os.environ.pop("ORCHARD_HOME", None)


def test_every_plot_gets_a_sensible_list(summer_week):
    by_plot = {}
    for r in summer_week.recommendations:
        by_plot.setdefault(r.plot_id, []).append(r)
    assert len(by_plot) == 30
    for recs in by_plot.values():
        topics = {r.topic for r in recs}
        assert "harvest" in topics  # every plot knows its expected harvest window
        assert topics <= {
            "spray",
            "skip_spray",
            "scout",
            "irrigate",
            "fertilise",
            "harvest",
            "inspect",
            "data",
        }
        assert [r.severity for r in recs] == sorted((r.severity for r in recs), reverse=True)
    assert summer_week.parameter_sets["growth"] and summer_week.parameter_sets["pests"]
    sprays = [r for r in summer_week.recommendations if r.topic == "spray"]
    assert sprays and sum(bool(r.products) for r in sprays) >= 0.9 * len(sprays)
    for r in sprays:  # never a product whose pre-harvest interval runs past the expected harvest start
        harvest = next(
            h for h in summer_week.recommendations if h.topic == "harvest" and h.plot_id == r.plot_id
        )
        assert all((harvest.valid_from - r.issued_on).days >= p["phi_days"] for p in r.products)
    nitrogen = [r for r in summer_week.recommendations if r.topic == "fertilise"]
    assert nitrogen and all(p["amount"] > 0 for r in nitrogen for p in r.products)
    # the sample imagery covers the weather's seasons: the week's monitoring used the scenes up to its date
    assert "scenes up to 2016-07-15" in summer_week.sources["monitoring"]


def test_north_facing_harvest_is_later_than_south_facing(summer_week, sample_home):
    import os

    from orchard import config

    os.environ["ORCHARD_HOME"] = str(sample_home)
    try:
        with store.session_scope(engine_for(config.database_url())) as session:
            plots = {p["plot_id"]: p for p in store.all_plots(session)}
    finally:
        os.environ.pop("ORCHARD_HOME", None)
    harvest = {r.plot_id: r for r in summer_week.recommendations if r.topic == "harvest"}

    def facing(pid, centre):
        aspect = plots[pid]["aspect_deg"] % 360
        return min(abs(aspect - centre), 360 - abs(aspect - centre)) < 60 and plots[pid]["slope_deg"] > 8

    compared = 0
    for cultivar in {p["cultivar"] for p in plots.values()}:
        north = [pid for pid, p in plots.items() if p["cultivar"] == cultivar and facing(pid, 0)]
        south = [pid for pid, p in plots.items() if p["cultivar"] == cultivar and facing(pid, 180)]
        for n in north:
            for s in south:
                if abs(plots[n]["elevation_m"] - plots[s]["elevation_m"]) < 60:
                    delay_n = harvest[n].reason_numbers["delay_days"]
                    delay_s = harvest[s].reason_numbers["delay_days"]
                    assert delay_n > delay_s, (n, s, delay_n, delay_s)
                    compared += 1
    assert compared > 0  # the sample has north- and south-facing plots of one cultivar at similar heights


def test_run_week_cli_stores_and_advice_reads_back(sample_home_copy, run_cli):
    code, out, err = run_cli(
        ["run-week", "--date", "2016-07-15", "--plots", "CT01", "--plots", "CT13", "--json"]
    )
    assert code == 0, err
    result = json.loads(out)
    assert {r["plot_id"] for r in result["recommendations"]} == {"CT01", "CT13"}
    code, out, err = run_cli(["advice", "CT13", "--user", "agronomist_zhao", "--json"])
    assert code == 0, err
    assert all(r["plot_id"] == "CT13" for r in json.loads(out))
    code, _, err = run_cli(["advice", "CT13", "--user", "grower_wang"])  # CT13 is grower_li's
    assert code == 1 and "plot CT13 is not one of yours" in err


def test_run_week_bad_input(sample_home_copy, run_cli):
    code, _, err = run_cli(["run-week", "--date", "2016-07-15", "--plots", "XX99"])
    assert code == 1 and "plot XX99 is not in the database" in err
    code, _, err = run_cli(["run-week", "--date", "2030-07-15"])
    assert code == 1 and "no daily weather between" in err and "2030-07-15" in err
