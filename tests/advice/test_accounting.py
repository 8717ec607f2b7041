"""Season accounting: kg a.i./ha, TFI, field-use EIQ, carbon, the baseline and anonymisation, checked against
numbers computed by hand (docs/advice.md, accounting: Worked example)."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from advice import accounting as acc
from orchard.errors import InputError

# Two plots, two growers, one district. Products: a liquid acaricide with a reference dose, a premix of two
# a.i. (an insecticide and a fungicide) in kg, a powder fungicide without a reference dose, urea.
PRODUCTS = pd.DataFrame([
    dict(product_id="ABA", ai_name="abamectin", ai_class="acaricide", unit="L", ai_content_g_per_unit=18.0,
         reference_dose_per_ha=0.5, eiq=34.7),
    dict(product_id="MIX", ai_name="ai_a", ai_class="insecticide", unit="kg", ai_content_g_per_unit=100.0,
         reference_dose_per_ha=1.0, eiq=20.0),
    dict(product_id="MIX", ai_name="ai_b", ai_class="fungicide", unit="kg", ai_content_g_per_unit=200.0,
         reference_dose_per_ha=1.0, eiq=30.0),
    dict(product_id="MANC", ai_name="mancozeb", ai_class="fungicide", unit="kg", ai_content_g_per_unit=800.0,
         reference_dose_per_ha=np.nan, eiq=25.0),
    dict(product_id="UREA", ai_name=None, ai_class="fertiliser", unit="kg", n_content_pct=46.0,
         urea_pct=100.0),
])
PLOTS = pd.DataFrame({"plot_id": ["P1", "P2"], "area_ha": [2.0, 0.5], "owner_id": ["li", "wang"],
                      "district": ["D1", "D1"]})
MANC_KG = float(acc.dose_from_dilution(1500.0, 600.0)) * 1.0   # 600倍液 at 1500 L/ha on 1 ha -> 2.5 kg
APPS = pd.DataFrame([
    # P1: tank mix on 15 March: abamectin on the whole plot + mancozeb by dilution on half of it.
    dict(plot_id="P1", product_id="ABA", applied_on="2016-03-15", amount=1.0, unit="L", area_ha=2.0),
    dict(plot_id="P1", product_id="MANC", applied_on="2016-03-15", amount=MANC_KG, unit="kg", area_ha=1.0),
    # P2: 250 g of the premix, treated area not recorded (= the plot).
    dict(plot_id="P2", product_id="MIX", applied_on="2016-05-01", amount=250.0, unit="g", area_ha=np.nan),
    dict(plot_id="P1", product_id="UREA", applied_on="2016-06-01", amount=100.0, unit="kg", area_ha=2.0),
    # Another season: must not count in 2016.
    dict(plot_id="P2", product_id="ABA", applied_on="2015-07-01", amount=1.0, unit="L", area_ha=0.5),
])
# Hand-computed carbon of P1 (kg CO2e): pesticides 0.018*18.7 + 2.0*14.3; urea: 46 kg N.
N2O_PER_KG_N = 0.016 * 44 / 28 * 273                         # 6.864
P1_PEST = 0.018 * 18.7 + 2.0 * 14.3                           # 28.9366
P1_FERT = 46 * 4.77 + 46 * N2O_PER_KG_N + 100 * 0.20 * 44 / 12  # 219.42 + 315.744 + 73.333


def account(**kw):
    kw.setdefault("baseline", False)
    index = {"plot": "plot_id", "grower": "grower", "district": "district"}[kw.get("by", "plot")]
    return acc.season_account(APPS, PRODUCTS, PLOTS, 2016, **kw).set_index(index)


def test_dose_from_dilution():
    assert MANC_KG == pytest.approx(2.5)
    assert_allclose(acc.dose_from_dilution([1500, 3000], [3000, 1500]), [0.5, 2.0])
    with pytest.raises(InputError, match="dilution multiple 0 is not a positive number"):
        acc.dose_from_dilution(1500, 0)


def test_active_ingredient_kg_per_row_and_premix():
    rows = acc.active_ingredient_kg(APPS, PRODUCTS)
    got = rows.set_index(["row", "ai_name"])["ai_kg"]
    assert_allclose(got[(0, "abamectin")], 1.0 * 18 / 1000)
    assert_allclose(got[(1, "mancozeb")], 2.5 * 0.8)
    assert_allclose(got[(2, "ai_a")], 0.25 * 0.1)         # grams converted to kg
    assert_allclose(got[(2, "ai_b")], 0.25 * 0.2)
    assert 3 not in rows["row"].to_numpy()                  # fertiliser has no a.i. row


def test_tfi_per_treatment():
    tfi = acc.treatment_frequency_index(APPS, PRODUCTS, PLOTS).set_index("row")
    assert_allclose(tfi.loc[0, "tfi"], 1.0)                 # 0.5 L/ha vs 0.5, whole plot
    assert_allclose(tfi.loc[1, "tfi"], 0.5)                 # no reference dose -> 1 x half the plot
    assert not tfi.loc[1, "has_reference"]
    assert_allclose(tfi.loc[2, "tfi"], 0.5)                 # 0.5 kg/ha vs 1.0: one product, one treatment
    assert 3 not in tfi.index                                # urea is not a treatment


def test_reference_dose_from_dilution_in_catalogue():
    products = PRODUCTS.copy()
    manc = products["product_id"] == "MANC"
    products.loc[manc, ["reference_dilution", "spray_volume_l_per_ha"]] = [600, 1500]
    tfi = acc.treatment_frequency_index(APPS, products, PLOTS).set_index("row")
    assert_allclose(tfi.loc[1, "tfi"], 1.0 * 0.5)           # 2.5 kg/ha vs 2.5 kg/ha on half the plot


def test_field_use_eiq():
    rows = acc.field_use_eiq(APPS, PRODUCTS, PLOTS).set_index(["row", "ai_name"])
    assert_allclose(rows.loc[(1, "mancozeb"), "field_eiq"], 25.0 * 2.0 / 1.0)   # EIQ x kg a.i./ha treated
    assert_allclose(rows.loc[(2, "ai_b"), "field_eiq"], 30.0 * 0.05 / 0.5)


def test_season_account_per_plot_by_hand():
    t = account()
    assert_allclose(t.loc["P1", "ai_kg_per_ha"], (0.018 + 2.0) / 2.0)
    assert_allclose(t.loc["P1", "tfi"], 1.5)
    assert_allclose(t.loc["P1", "field_eiq_per_ha"], (34.7 * 0.018 + 25.0 * 2.0) / 2.0)
    assert t.loc["P1", "n_sprays"] == 1 and t.loc["P1", "n_applications"] == 3
    assert_allclose(t.loc["P2", "ai_kg_per_ha"], 0.075 / 0.5)
    assert_allclose(t.loc["P2", "tfi"], 0.5)
    assert_allclose(t.loc["P2", "field_eiq_per_ha"], (20 * 0.025 + 30 * 0.05) / 0.5)
    assert t.loc["P2", "n_applications"] == 1                # the 2015 record is another season
    assert_allclose(t.loc["P1", "co2e_pesticide_kg"], P1_PEST)
    assert_allclose(t.loc["P1", "co2e_kg_per_ha"], (P1_PEST + P1_FERT) / 2.0)
    assert_allclose(t.loc["P2", "co2e_kg"], 0.025 * 18.7 + 0.05 * 14.3)


def test_district_is_area_weighted():
    t = account(by="district")
    assert list(t.index) == ["D1"]
    assert_allclose(t.loc["D1", "area_ha"], 2.5)
    assert_allclose(t.loc["D1", "ai_kg_per_ha"], (2.018 + 0.075) / 2.5)
    assert_allclose(t.loc["D1", "tfi"], (1.5 * 2.0 + 0.5 * 0.5) / 2.5)
    assert_allclose(t.loc["D1", "field_eiq_per_ha"], (34.7 * 0.018 + 50.0 + 2.0) / 2.5)


def test_carbon_from_known_nitrogen():
    apps = pd.DataFrame([dict(plot_id="P1", product_id="UREA", applied_on="2016-06-01", amount=100.0,
                              unit="kg")])
    c = acc.carbon_footprint(apps, PRODUCTS).iloc[0]
    assert_allclose(c["n_kg"], 46.0)
    assert_allclose(N2O_PER_KG_N, 6.864)                     # 6.86 kg CO2e/kg N (science note §4.4)
    assert_allclose(c["co2e_n2o_direct_kg"], 46.0 * 0.016 * 44 / 28 * 273)
    assert_allclose(c["co2e_urea_kg"], 100 * 0.2 * 44 / 12)
    assert c["co2e_n2o_indirect_kg"] == 0.0
    assert_allclose(c["co2e_kg"], P1_FERT)
    factors = acc.carbon_parameters().with_overrides({"options.include_indirect_n2o": 1,
                                                      "options.include_urea_co2": 0})
    c = acc.carbon_footprint(apps, PRODUCTS, factors).iloc[0]
    assert_allclose(c["co2e_n2o_indirect_kg"], 46.0 * (0.11 * 0.014 + 0.24 * 0.011) * 44 / 28 * 273)
    assert c["co2e_urea_kg"] == 0.0


def test_reduction_against_baseline():
    baseline = pd.DataFrame([
        dict(spray_no=1, month_day="03-15", product_id="ABA", dose=0.5, dose_basis="per_ha", unit="L"),
        dict(spray_no=1, month_day="03-15", product_id="MANC", dose=600, dose_basis="dilution", unit="kg",
             spray_volume_l_per_ha=1500),
    ])
    t = account(baseline=baseline)
    # Baseline on P1 (2 ha): 1 L abamectin + 5 kg mancozeb = 0.018 + 4.0 kg a.i.; TFI 1 + 1.
    assert_allclose(t.loc["P1", "baseline_ai_kg_per_ha"], 4.018 / 2.0)
    assert_allclose(t.loc["P1", "reduction_ai_kg_per_ha"], 1.0)
    assert_allclose(t.loc["P1", "reduction_ai_kg_per_ha_pct"], 100 * 1.0 / 2.009)
    assert_allclose(t.loc["P1", "baseline_tfi"], 2.0)
    assert_allclose(t.loc["P1", "reduction_tfi_pct"], 25.0)
    # A spray-only baseline keeps the grower's fertiliser: the carbon saved is the half plot of mancozeb.
    assert_allclose(t.loc["P1", "reduction_co2e_kg_per_ha"], 2.0 * 14.3 / 2.0)
    assert_allclose(t.loc["P1", "reduction_n_sprays"], 0.0)


def test_shipped_baseline_loads_and_counts_sprays(tmp_path):
    programme = acc.load_baseline()
    assert programme["spray_no"].nunique() == 8
    assert_allclose(programme["dose_per_ha"].iloc[0], 2250 / 3000)   # abamectin 3000倍 at 2250 L/ha
    bad = tmp_path / "b.csv"
    bad.write_text("spray_no,month_day,product_id,dose,dose_basis,unit\n1,3/15,ABA,0.5,per_ha,L\n")
    with pytest.raises(InputError, match="month_day '3/15' is not MM-DD"):
        acc.load_baseline(bad)


def test_shipped_baseline_fits_shipped_catalogue():
    from advice.catalogue import load_catalogue

    products = acc.products_from_catalogue(load_catalogue())
    plots = pd.DataFrame({"plot_id": ["A"], "area_ha": [1.0]})
    empty = pd.DataFrame(columns=["plot_id", "product_id", "applied_on", "amount", "unit", "area_ha"])
    row = acc.season_account(empty, products, plots, 2016).iloc[0]
    assert row["baseline_n_sprays"] == 8
    assert_allclose(row["baseline_tfi"], 13.0)            # every product at its label dose
    # Nothing recorded is not a 100 % cut: no reduction figure at all.
    assert row["n_applications"] == 0 and row["n_plots_recorded"] == 0
    assert np.isnan(row["reduction_tfi_pct"]) and np.isnan(row["reduction_tfi"])
    # A programme whose every application is known (a replay's) that sprays nothing does cut 100 %.
    row = acc.season_account(empty, products, plots, 2016, complete_records=True).iloc[0]
    assert row["reduction_tfi_pct"] == 100.0 and row["n_plots_recorded"] == 1


def test_nothing_recorded_gives_no_reduction_for_plots_and_groups():
    baseline = pd.DataFrame([dict(spray_no=1, month_day="03-15", product_id="ABA", dose=0.5,
                                  dose_basis="per_ha", unit="L")])
    only_p1 = APPS[APPS["plot_id"] == "P1"]
    t = acc.season_account(only_p1, PRODUCTS, PLOTS, 2016, baseline=baseline).set_index("plot_id")
    assert t.loc["P1", "n_plots_recorded"] == 1 and t.loc["P2", "n_plots_recorded"] == 0
    assert np.isfinite(t.loc["P1", "reduction_tfi_pct"])
    for metric in acc.METRICS:
        assert np.isnan(t.loc["P2", f"reduction_{metric}_pct"])
        assert np.isnan(t.loc["P2", f"reduction_{metric}"])
    assert t.loc["P2", "tfi"] == 0 and t.loc["P2", "baseline_tfi"] == 1.0   # the record says zero, the
    # calendar one, but the difference is not a measured cut.
    # The district counts its recorded plot only: P1's TFI 1.5 against P1's baseline 1, not 1.5 x 2 ha
    # spread over 2.5 ha against a baseline on both plots.
    d = acc.season_account(only_p1, PRODUCTS, PLOTS, 2016, baseline=baseline, by="district").iloc[0]
    assert d["n_plots"] == 2 and d["n_plots_recorded"] == 1 and d["area_recorded_ha"] == 2.0
    assert_allclose(d["tfi"], 1.5)
    assert_allclose(d["baseline_tfi"], 1.0)
    assert_allclose(d["reduction_tfi_pct"], -50.0)
    none = acc.season_account(APPS.iloc[:0], PRODUCTS, PLOTS, 2016, baseline=baseline, by="district").iloc[0]
    assert none["n_plots_recorded"] == 0 and none["tfi"] == 0
    assert np.isnan(none["reduction_tfi_pct"]) and np.isnan(none["reduction_co2e_kg_per_ha_pct"])


def test_baseline_product_missing_from_catalogue():
    baseline = pd.DataFrame([dict(spray_no=1, month_day="03-15", product_id="NOPE", dose=1,
                                  dose_basis="per_ha", unit="kg")])
    with pytest.raises(InputError, match="baseline programme: .*'NOPE' is not in the product catalogue"):
        account(baseline=baseline)


def test_anonymised_growers_are_stable_pseudonyms():
    t = acc.season_account(APPS, PRODUCTS, PLOTS, 2016, baseline=False, by="grower", anonymise=True)
    assert sorted(t["grower"]) == ["grower 1", "grower 2"]
    assert not t.isin(["li", "wang"]).any().any()
    shuffled = acc.season_account(APPS.iloc[::-1], PRODUCTS, PLOTS.iloc[::-1], 2016, baseline=False,
                                  by="grower", anonymise=True)
    assert_allclose(t.set_index("grower")["tfi"].sort_index(),
                    shuffled.set_index("grower")["tfi"].sort_index())
    assert_allclose(t.set_index("grower").loc["grower 1", "tfi"], 1.5)   # 'li' sorts first


def test_eiq_formula_hand_computed():
    # Ratings C=3 DT=1 P=3 S=3 SY=1 L=1 F=3 R=1 D=1 Z=3 B=3: worker 3*(5+3)=24, consumer 3*3*1+1=10,
    # ecology 3*1 + 1*3*3 + 3*3*3 + 3*3*5 = 84 -> (24+10+84)/3.
    assert_allclose(acc.eiq(3, 1, 3, 3, 1, 1, 3, 1, 1, 3, 3), 118 / 3)
    assert_allclose(acc.eiq(*[1] * 11), 20 / 3)
    assert_allclose(acc.eiq(*[np.array([1, 5])] * 11), [20 / 3, 680 / 3])


@pytest.mark.parametrize("change, message", [
    (dict(amount=-1.0), r"applications row 0 \(plot P1, ABA\): amount -1.0 is not a positive number"),
    (dict(product_id="XYZ"), r"product 'XYZ' is not in the product catalogue; add it"),
    (dict(unit="kg"), r"the amount is in kg but the product is measured in L"),
    (dict(applied_on="15/03/2016x"), r"applied_on '15/03/2016x' is not a date"),
    (dict(area_ha=3.0), r"treated area 3 ha is larger than the plot \(2 ha\)"),
])
def test_bad_applications_one_sentence(change, message):
    apps = APPS.copy()
    for column, value in change.items():
        apps[column] = apps[column].astype(object)
        apps.loc[0, column] = value
    with pytest.raises(InputError, match=message) as info:
        acc.season_account(apps, PRODUCTS, PLOTS, 2016, baseline=False)
    assert str(info.value).count(". ") == 0 and "\n" not in str(info.value)


def test_bad_products_and_options():
    products = PRODUCTS.copy()
    products.loc[0, "ai_class"] = "growth hormone"
    with pytest.raises(InputError, match="class 'growth hormone' is not one of insecticide"):
        acc.active_ingredient_kg(APPS, products)
    with pytest.raises(InputError, match="by='farm' is not one of plot, grower, district"):
        acc.season_account(APPS, PRODUCTS, PLOTS, 2016, by="farm")
    with pytest.raises(InputError, match="applications has no column 'amount'"):
        acc.active_ingredient_kg(APPS.drop(columns="amount"), PRODUCTS)


# ----------------------------------------------------------------------------------------------------------
# `orchard account` on a copy of the sample district with a few recorded applications
# ----------------------------------------------------------------------------------------------------------
@pytest.fixture
def account_home(sample_home, tmp_path, monkeypatch):
    import shutil

    from orchard import store
    from orchard.cli_common import engine

    home = tmp_path / "home"
    shutil.copytree(sample_home, home)
    monkeypatch.setenv("ORCHARD_HOME", str(home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)
    with store.session_scope(engine()) as session:
        plots = {p["plot_id"]: p for p in store.all_plots(session)}
        li = sorted(pid for pid, p in plots.items() if p["owner_id"] == "grower_li")[0]
        area = plots[li]["area_ha"]
        # Abamectin at exactly the label dose (2250 L/ha at 3000倍 = 0.75 L/ha) on the whole plot: TFI 1.
        store.add_application(session, "grower_li", li, product_id="abamectin_18ec", applied_on="2016-04-01",
                              amount=0.75 * area, unit="L")
        store.add_application(session, "grower_li", li, product_id="urea_46n", applied_on="2016-03-01",
                              amount=100.0, unit="kg")
    return li, area


def run_account(*args):
    import json

    import typer
    from typer.testing import CliRunner

    from advice.accounting_cli import register_accounting

    app = typer.Typer()
    register_accounting(app)

    @app.callback()
    def _group():
        """Make `account` a sub-command, as under `orchard`."""

    result = CliRunner().invoke(app, ["account", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return json.loads(result.stdout)


def test_cli_account_per_plot_against_baseline(account_home):
    plot_id, area = account_home
    rows = {r["plot_id"]: r for r in run_account("--season", "2016", "--json")["recorded"]}
    row = rows[plot_id]
    assert_allclose(row["tfi"], 1.0)
    assert_allclose(row["baseline_tfi"], 13.0)           # 13 products at their label doses
    assert_allclose(row["reduction_tfi_pct"], 100 * 12 / 13)
    assert_allclose(row["ai_kg_per_ha"], 0.75 * 18 / 1000)
    assert_allclose(row["n_kg_per_ha"], 46.0 / area)
    assert row["grower"] == "grower_li"
    others = [r for pid, r in rows.items() if pid != plot_id]
    assert all(r["tfi"] == 0 for r in others)
    # The other plots have no records: no reduction figure (null), not 100 %.
    assert all(r["reduction_tfi_pct"] is None and r["reduction_co2e_kg_per_ha_pct"] is None for r in others)


def test_cli_account_extension_gets_pseudonyms_grower_gets_own(account_home):
    rows = run_account("--season", "2016", "--by", "grower", "--user", "extension_county",
                       "--json")["recorded"]
    assert sorted(r["grower"] for r in rows) == ["grower 1", "grower 2", "grower 3"]
    assert not any("grower_" in str(v) for r in rows for v in r.values())
    own = run_account("--season", "2016", "--user", "grower_wang", "--json")["recorded"]
    assert own and all(r["grower"] == "grower_wang" for r in own)
    district = run_account("--season", "2016", "--by", "district", "--district", "长汀", "--json")["recorded"]
    assert [r["district"] for r in district] == ["长汀 Changting (Fujian)"]  # found by part of its name


def test_cli_account_bad_by(account_home):
    with pytest.raises(InputError, match="--by 'farm' is not one of plot, grower, district"):
        run_account("--season", "2016", "--by", "farm", "--json")


def test_cli_account_nothing_recorded_has_no_reduction(account_home):
    out = run_account("--season", "2015", "--by", "district", "--json")   # the records are of 2016
    (row,) = out["recorded"]
    assert row["n_applications"] == 0 and row["n_plots_recorded"] == 0
    assert all(row[f"reduction_{m}_pct"] is None and row[f"reduction_{m}"] is None for m in acc.METRICS)
    assert row["baseline_tfi"] == pytest.approx(13.0)
    assert out["note"] == ("no applications were recorded in 2015, so there is no reduction figure; record "
                           "the season's sprays (orchard applications add) to measure one.")
    assert out["projected"] is None
    assert "orchard replay --season 2015 --follow advice" in out["projected_note"]
    # Some plots recorded: the district counts the recorded plot only, and says so.
    plot_id, _ = account_home
    out = run_account("--season", "2016", "--by", "district", "--json")
    assert out["recorded"][0]["n_plots_recorded"] == 1
    assert out["note"].startswith("29 of 30 plots have no applications recorded in 2016")
    assert 0 < out["recorded"][0]["reduction_tfi_pct"] < 100


def test_cli_account_shows_the_projected_advised_programme(account_home, tmp_path):
    import os

    from tests.advice.replay_dirs import write_replay

    plot_id, _ = account_home
    write_replay(os.environ["ORCHARD_HOME"], 2016, "advice", plot_ids=(plot_id, "CT02"))
    out = run_account("--season", "2016", "--json", "--user", "grower_li")
    projected = out["projected"]
    assert projected["replay"] == "2016-advice" and projected["plots"] == 2 and out["projected_note"] is None
    measures = {m["measure"]: m for m in projected["measures"]}
    assert measures["tfi"]["advice_median"] == 7.8 and measures["tfi"]["calendar_median"] == 13.0
    assert measures["tfi"]["ratio_to_calendar"] == pytest.approx(0.6)
    assert measures["tfi"]["account_metric"] == "tfi" and measures["kg_cu_ha"]["account_metric"] is None
    assert measures["unprotected_events"]["advice_p90"] == 2
    assert measures["events_mites"]["account_metric"] is None      # every measure of the replay is there
    # per-plot rows only of the plots the grower may see
    own = {r["plot_id"] for r in out["recorded"]}
    assert {r["plot_id"] for r in projected["per_plot"]} <= own and plot_id in own
    assert {r["programme"] for r in projected["per_plot"]} == {"advice", "calendar"}


# ----------------------------------------------------------------------------------------------------------
# Reading stored replays (advice/replay_store.py)
# ----------------------------------------------------------------------------------------------------------
def test_replay_store_reads_and_lists(tmp_path):
    from advice import replay_store
    from tests.advice.replay_dirs import write_replay

    assert replay_store.list_replays(tmp_path) == []
    assert replay_store.latest_replay(tmp_path, 2016) is None
    write_replay(tmp_path, 2016, "advice")
    write_replay(tmp_path, 2016, "calendar")
    write_replay(tmp_path, 2015, "advice")
    (tmp_path / "replays" / "2017-advice.partial").mkdir()        # being written: not listed
    listed = [(r["season"], r["follow"]) for r in replay_store.list_replays(tmp_path)]
    assert listed == [(2016, "advice"), (2016, "calendar"), (2015, "advice")]
    summary, plots, weekly = replay_store.read_replay(tmp_path, 2016, "advice")
    assert summary["programmes"]["advice"]["tfi"]["median"] == 7.8
    assert list(plots.columns)[:10] == list(replay_store.PLOT_COLUMNS) and len(plots) == 4
    assert weekly["issued_on"].dtype.kind == "M" and weekly["plot_id"].iloc[0] == "CT01"


@pytest.mark.parametrize("damage, message", [
    (None, r"there is no replay of 2014 following the advice; make one with `orchard replay --season 2014 "
           r"--follow advice`"),
    ("summary.json:{not json", r"summary.json is not valid JSON"),
    ('summary.json:{"season": 2014, "follow": "advice"}', r"summary.json has no 'programmes'"),
    ('summary.json:{"season": 2013, "follow": "advice", "programmes": {"advice": {}}}',
     r"the summary is of 2013 following the advice, not 2014"),
    ("plots.csv:programme,plot_id\nadvice,CT01\n", r"plots.csv has no column 'sprays'"),
    ("weekly.csv:", r"the replay has no weekly.csv"),
    ("weekly.csv:plot_id,issued_on,pest,level_15d,level_1m,level_3m,probability_15d,decision,protected_until,"
     "product_id\nCT01,someday,mites,4,4,3,0.8,spray,,\n",
     r"weekly.csv row 2: issued_on 'someday' is not a date"),
])
def test_replay_store_bad_folders(tmp_path, damage, message):
    from advice import replay_store
    from tests.advice.replay_dirs import write_replay

    if damage is not None:
        folder = write_replay(tmp_path, 2014, "advice")
        name, _, text = damage.partition(":")
        if text:
            (folder / name).write_text(text, encoding="utf-8")
        else:
            (folder / name).unlink()
    with pytest.raises(InputError, match=message) as info:
        replay_store.read_replay(tmp_path, 2014, "advice")
    assert "\n" not in str(info.value)
