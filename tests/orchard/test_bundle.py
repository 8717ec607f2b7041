"""One parameter bundle per run: the registry of declared sets, resolve() on a store, checks, freezing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from orchard import bundle, params
from orchard.bundle import ParameterBundle, SetDeclaration, declared_sets, resolve, shipped_bundle
from orchard.errors import ParameterError
from orchard.store import init_db, session_scope, upsert_users

DISTRICT = "奉节 Fengjie"


@pytest.fixture
def engine(tmp_path):
    engine = init_db(f"sqlite:///{tmp_path / 'orchard.db'}")
    with session_scope(engine) as s:
        upsert_users(s, [{"user_id": "agro_zhang", "display_name": "Zhang", "role": "agronomist"}])
    return engine


def test_declared_sets_cover_every_package():
    from growth.cultivars import cultivar_codes

    sets = declared_sets()
    assert next(iter(sets)) == "weather" and sets["weather"].kind == "core"
    assert {f"growth.{c}" for c in cultivar_codes()} <= set(sets)
    assert {"black_spot", "canker", "mites", "leaf_miner", "host", "outlook"} <= set(sets)
    assert {"soil.water_balance", "soil.qc", "soil.advice", "monitoring.imagery"} <= set(sets)
    assert {"advice.rules", "rotation", "carbon"} <= set(sets)
    assert {d.kind for d in sets.values()} == set(bundle.KINDS)
    assert sets["carbon"].used_by == "accounting" and sets["advice.cycle"].used_by == "cycle"
    assert all(d.used_by == "weekly" for name, d in sets.items() if name not in ("carbon", "advice.cycle"))
    assert sets["growth.valencia"].code == "valencia" and sets["mites"].package == "pests"
    for name, decl in sets.items():  # every shipped set loads, is named as declared and passes its check
        shipped = decl.load_shipped()
        assert shipped.name == name and len(shipped) > 0
        decl.run_check(shipped)


def test_declaration_fields_and_validation():
    decl = SetDeclaration("x", "pkg", params.core_parameters, kind="core")  # the first three positional
    assert decl.check is None and decl.used_by == "weekly" and decl.code is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        decl.name = "y"
    with pytest.raises(ParameterError, match="kind 'crop'; use one of core, cultivar"):
        SetDeclaration("x", "pkg", params.core_parameters, kind="crop")
    with pytest.raises(ParameterError, match="hold no '@'"):
        SetDeclaration("x@y", "pkg", params.core_parameters, kind="core")


def test_resolve_on_a_fresh_store_gives_the_shipped_sets(engine):
    shipped = shipped_bundle()
    with session_scope(engine) as s:
        run = resolve(s)
    assert set(run) == set(declared_sets())
    assert {name: v["hash"] for name, v in run.versions().items()} == \
        {name: d.load_shipped().hash for name, d in declared_sets().items()}
    assert all(v["version"] == 0 for v in run.versions().values())
    assert run.hash == shipped.hash and len(run.hash) == 40
    assert run == shipped and run.district is None
    assert resolve(None).hash == shipped.hash  # no database: the shipped sets


def test_a_saved_version_is_in_force_and_recorded(engine):
    shipped = shipped_bundle()
    changed = shipped["growth.valencia"].with_overrides({"bloom.required_gdd": 1100.0})
    with session_scope(engine) as s:
        params.save_version(s, changed, author="agro_zhang", comment="later bloom")
        params.save_version(s, shipped["black_spot"].with_overrides({"infection.wmin": 14.0}),
                            author="agro_zhang")
        params.save_version(s, shipped["black_spot"].with_overrides({"infection.wmin": 15.0}),
                            author="agro_zhang")
    with session_scope(engine) as s:
        run = resolve(s)
    assert run["growth.valencia"]["bloom.required_gdd"] == 1100.0
    versions = run.versions()
    assert versions["growth.valencia"] == {"version": 1, "hash": changed.hash}
    assert versions["black_spot"]["version"] == 2 and run["black_spot"]["infection.wmin"] == 15.0
    assert versions["weather"] == {"version": 0, "hash": shipped["weather"].hash}
    assert run.hash != shipped.hash
    # the pests package takes the bundle as it is
    from pests.paramsets import load_all

    sets = load_all(params=run)
    assert sets["black_spot"] is run["black_spot"] and set(sets) == {
        "black_spot", "canker", "mites", "leaf_miner", "host", "outlook"}


def test_district_variant_only_for_its_district(engine):
    shipped = shipped_bundle()
    belt = shipped["growth.valencia"]
    variant = params.ParameterSet(f"growth.valencia@{DISTRICT}",
                                  belt.with_overrides({"bloom.required_gdd": 1050.0}).entries)
    with session_scope(engine) as s:
        params.save_version(s, variant, author="agro_zhang", comment="valley")
    with session_scope(engine) as s:
        everywhere = resolve(s)
        fengjie = resolve(s, DISTRICT)
    name = f"growth.valencia@{DISTRICT}"
    assert name in everywhere and everywhere.versions()[name]["version"] == 1
    assert everywhere["growth.valencia"].hash == belt.hash  # the plain name stays belt-wide
    assert everywhere.get_for("growth.valencia", DISTRICT)["bloom.required_gdd"] == 1050.0
    assert everywhere.get_for("growth.valencia", "长汀 Changting")["bloom.required_gdd"] == \
        belt["bloom.required_gdd"]
    assert everywhere.get_for("growth.valencia").hash == belt.hash
    lane = shipped["growth.lane_late_navel"]
    assert everywhere.get_for("growth.lane_late_navel", DISTRICT).hash == lane.hash
    # resolved for the district: its variant under the plain name, the belt-wide set for other districts
    assert fengjie.district == DISTRICT
    assert fengjie["growth.valencia"]["bloom.required_gdd"] == 1050.0
    assert fengjie.get_for("growth.valencia")["bloom.required_gdd"] == 1050.0
    assert fengjie.get_for("growth.valencia", "长汀 Changting").hash == belt.hash
    assert fengjie.versions()["growth.valencia"]["version"] == 1

    # growth takes the bundle's cultivar sets, a plot of the district with its variant
    from growth.cultivars import parameters_from_bundle, set_keys_for_bundle

    codes, districts = ["valencia", "valencia", "lane_late_navel"], [DISTRICT, "长汀 Changting", DISTRICT]
    sets = parameters_from_bundle(everywhere, codes, districts)
    assert set(sets) == {"valencia", f"valencia@{DISTRICT}", "lane_late_navel"}
    assert sets[f"valencia@{DISTRICT}"]["bloom.required_gdd"] == 1050.0
    assert set_keys_for_bundle(everywhere, codes, districts) == [f"valencia@{DISTRICT}", "valencia",
                                                                 "lane_late_navel"]
    assert set(parameters_from_bundle(fengjie, codes, districts)) == {"valencia", "valencia@长汀 Changting",
                                                                     "lane_late_navel"}
    with pytest.raises(Exception, match="plot B: unknown cultivar 'lemon'"):
        parameters_from_bundle(everywhere, ["valencia", "lemon"], None, plot_ids=["A", "B"])


def test_growth_run_picks_each_plots_district_variant(engine):
    from growth import model
    from growth.cultivars import parameters_from_bundle, set_keys_for_bundle

    xr = pytest.importorskip("xarray")
    import pandas as pd

    shipped = shipped_bundle()
    variant = params.ParameterSet(f"growth.valencia@{DISTRICT}", shipped["growth.valencia"].with_overrides(
        {"bloom.required_gdd": 1200.0}).entries)
    with session_scope(engine) as s:
        params.save_version(s, variant, author="agro_zhang")
        run = resolve(s)
    times = pd.date_range("2016-01-01", "2016-06-30", freq="D")
    plots = xr.Dataset({"lat": ("plot", [30.9, 30.9]), "lon": ("plot", [109.5, 109.5]),
                        "cultivar": ("plot", ["valencia", "valencia"]),
                        "district": ("plot", [DISTRICT, "长汀 Changting"]),
                        "canopy_cover": ("plot", [0.6, 0.6])}, coords={"plot": ["A", "B"]})
    day = np.arange(len(times))
    tmean = 12 + 10 * np.sin((day - 20) / 365 * 2 * np.pi)
    weather = xr.Dataset({"tmin_c": (("time", "plot"), np.repeat((tmean - 4)[:, None], 2, 1)),
                          "tmax_c": (("time", "plot"), np.repeat((tmean + 4)[:, None], 2, 1)),
                          "rs_mj_m2": (("time", "plot"), np.full((len(times), 2), 15.0))},
                         coords={"time": times, "plot": ["A", "B"]})
    sets = parameters_from_bundle(run, ["valencia", "valencia"], [DISTRICT, "长汀 Changting"])
    by_district = model.run(plots, weather, params=sets, slope_correction=False, dates_only=True)
    keys = set_keys_for_bundle(run, ["valencia", "valencia"], [DISTRICT, "长汀 Changting"])
    explicit = model.run(plots.drop_vars("district"), weather, params=sets, set_keys=keys,
                         slope_correction=False, dates_only=True)
    for ds in (by_district, explicit):
        bloom = ds["bloom_date"].values
        assert bloom[0] > bloom[1]  # the Fengjie plot needs more thermal time to bloom
        assert f"valencia@{DISTRICT}: growth.valencia@{DISTRICT} v1" in ds.attrs["parameter_set"]
    with pytest.raises(Exception, match="set_keys has 1 keys for 2 plots"):
        model.run(plots, weather, params=sets, set_keys=["valencia"], slope_correction=False, dates_only=True)


def test_inconsistent_sets_are_refused_naming_the_set(engine):
    shipped = shipped_bundle()
    bad_outlook = shipped["outlook"].with_overrides({"level.bounds": [20, 60, 40, 80]})
    with pytest.raises(ParameterError, match=r"'outlook': level.bounds must be 4 increasing numbers"):
        shipped_bundle(overrides={"outlook": bad_outlook})
    bad_qc = shipped["soil.qc"].with_overrides({"range.t_c": [30.0, 20.0]})
    with pytest.raises(ParameterError, match=r"'soil.qc': range.t_c must be 2 increasing numbers, got 30, 2"):
        shipped_bundle(overrides={"soil.qc": bad_qc})
    bad_rules = shipped["advice.rules"].with_overrides({"calendar.mites_first_month": 12})
    with pytest.raises(ParameterError, match=r"'advice.rules': calendar.mites_first_month \(12\) is after"):
        shipped_bundle(overrides={"advice.rules": bad_rules})
    bad_weather = shipped["weather"].with_overrides({"radiation.angstrom_a": 0.4,
                                                     "radiation.angstrom_b": 0.7})
    with pytest.raises(ParameterError, match=r"'weather': radiation.angstrom_a \+ radiation.angstrom_b"):
        shipped_bundle(overrides={"weather": bad_weather})
    # each in range (20-250 and 150-600 degC d), petal fall after the end of cell division
    bad_growth = shipped["growth.satsuma"].with_overrides({"fruit.petal_fall_gdd": 240.0,
                                                           "fruit.cell_division_gdd": 200.0})
    with pytest.raises(ParameterError, match=r"'growth.satsuma': fruit.petal_fall_gdd \(240\) must be below"):
        shipped_bundle(overrides={"growth.satsuma": bad_growth})
    bad_wb = shipped["soil.water_balance"].with_overrides({"defaults.wilting_point": 0.3,
                                                           "defaults.field_capacity": 0.25})
    with pytest.raises(ParameterError, match=r"'soil.water_balance': defaults.wilting_point"):
        shipped_bundle(overrides={"soil.water_balance": bad_wb})

    # a stored version that breaks a rule stops resolve() with the same sentence
    with session_scope(engine) as s:
        params.save_version(s, bad_outlook, author="agro_zhang")
    with session_scope(engine) as s, pytest.raises(ParameterError, match="parameter set 'outlook': level"):
        resolve(s)

    # a declared check's error without the set's name is given one
    decl = SetDeclaration("weather", "orchard", params.core_parameters, kind="core",
                          check=lambda p: (_ for _ in ()).throw(ParameterError("lapse rate too steep.")))
    with pytest.raises(ParameterError, match=r"^parameter set 'weather@x': lapse rate too steep\.$"):
        decl.run_check(params.core_parameters(), key="weather@x")


def test_overrides_for_what_if_runs(engine):
    shipped = shipped_bundle()
    what_if = shipped["mites"].with_overrides({"development.t0": 9.0})
    with session_scope(engine) as s:
        run = resolve(s, overrides={"mites": what_if})
    assert run["mites"] is what_if and run.versions()["mites"]["hash"] == what_if.hash
    assert run.hash != shipped.hash
    with pytest.raises(ParameterError, match="unknown parameter set 'mite'; did you mean 'mites'"):
        shipped_bundle(overrides={"mite": what_if})
    with pytest.raises(ParameterError, match="override for parameter set 'canker' lacks"):
        shipped_bundle(overrides={"canker": what_if})
    with pytest.raises(ParameterError, match="override for parameter set 'mites' is a dict"):
        shipped_bundle(overrides={"mites": {"development.t0": 9.0}})


def test_the_bundle_is_frozen():
    run = shipped_bundle()
    assert isinstance(run, ParameterBundle)
    with pytest.raises(TypeError):
        run["weather"] = run["carbon"]
    with pytest.raises(TypeError):
        run.sets["weather"] = run["carbon"]
    with pytest.raises(TypeError):
        del run.sets["weather"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.district = "elsewhere"
    with pytest.raises(KeyError, match="no set 'growth.lemon'"):
        run["growth.lemon"]
    assert hash(run) == hash(shipped_bundle()) and "weather" in run and len(run) == len(declared_sets())
