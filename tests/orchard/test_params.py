"""Parameter sets: strict TOML loading, overrides, hashing, diff, and versions in the database."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from orchard.errors import AccessError, InputError, ParameterError
from orchard.params import (
    Parameter,
    ParameterSet,
    core_parameters,
    diff,
    list_versions,
    load_parameters,
    load_version,
    save_version,
)
from orchard.store import ParameterVersion, init_db, session_scope, upsert_users

DATA = Path(__file__).resolve().parents[1] / "data" / "params"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def base() -> ParameterSet:
    return load_parameters(DATA / "base.toml")


# -- loading ------------------------------------------------------------------------------------------------
def test_load_valid_file(base):
    assert base.name == "base"
    assert base.source_path == DATA / "base.toml"
    assert len(base) == 3
    assert base["phenology.base_temperature"] == 13.0
    assert base["phenology.bloom_gdd"] == 500 and isinstance(base["phenology.bloom_gdd"], int)
    assert base["elevation.lapse_rate"] == (0.4, 0.45, 0.55, 0.6, 0.65, 0.65, 0.6, 0.6, 0.6, 0.55, 0.5, 0.4)
    entry = base.entry("phenology.bloom_gdd")
    assert entry == Parameter(value=500, unit="degC d", min=200, max=900,
                              description="Thermal time from budbreak to full bloom", source="Test fixture",
                              assumption=True, note="Awaiting calibration against bloom dates.")
    assert base.entry("elevation.lapse_rate").assumption is False  # optional field defaults to False
    assert list(base) == ["phenology.base_temperature", "phenology.bloom_gdd", "elevation.lapse_rate"]
    assert base.values()["phenology.base_temperature"] == 13.0


def test_set_is_read_only(base):
    with pytest.raises(TypeError):
        base.entries["phenology.base_temperature"] = None
    with pytest.raises(AttributeError):
        base.name = "other"


def test_unknown_key_lookup_suggests(base):
    with pytest.raises(ParameterError, match=r"has no parameter 'phenology.base_temp'; did you mean "
                                             r"'phenology.base_temperature'"):
        base["phenology.base_temp"]


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("syntax_error.toml", r"syntax_error.toml: TOML syntax error: .*\(at line 3, column \d+\)"),
        ("missing_field.toml", r"missing_field.toml: parameter 'phenology.base_temperature' has no 'source' "
                               r"field"),
        ("unknown_field.toml", r"unknown_field.toml: parameter 'phenology.base_temperature' has an unknown "
                               r"field 'units' \(did you mean 'unit'\?\)"),
        ("out_of_range.toml", r"out_of_range.toml: phenology.base_temperature = 18.0 degC is outside its "
                              r"range 10.0–15.0 degC"),
        ("list_out_of_range.toml", r"elevation.lapse_rate\[2\] = 1.2 degC/100m is outside its range 0.3–1.0"),
        ("min_gt_max.toml", r"min_gt_max.toml: phenology.base_temperature has min 15.0 greater than max "
                            r"10.0"),
        ("non_numeric.toml", r"non_numeric.toml: phenology.base_temperature value '13' is not a number"),
        ("empty_source.toml", r"empty_source.toml: phenology.base_temperature has an empty source"),
    ],
)
def test_invalid_files(fixture, message):
    with pytest.raises(ParameterError, match=message):
        load_parameters(DATA / fixture)


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("unit_mismatch.toml", r"unit_mismatch.toml: phenology.base_temperature is in 'degF' but the 'base' "
                               r"schema expects 'degC'; convert the value to degC"),
        ("unknown_key.toml", r"unknown_key.toml: unknown parameter 'phenology.base_temprature' \(not in the "
                             r"'base' schema\); did you mean 'phenology.base_temperature'\?"),
        ("missing_key.toml", r"missing_key.toml: parameter 'elevation.lapse_rate' is missing; the 'base' "
                             r"schema requires it"),
    ],
)
def test_schema_violations(base, fixture, message):
    # each file is valid on its own: only the schema makes it wrong
    load_parameters(DATA / fixture)
    with pytest.raises(ParameterError, match=message):
        load_parameters(DATA / fixture, schema=base)


def test_file_valid_against_its_own_schema(base):
    assert load_parameters(DATA / "base.toml", schema=base) == base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", r"'x' is a bare value; a parameter must be a table"),
        ("[a.b]\nvalue = true\nunit='1'\nmin=0\nmax=1\ndescription='d'\nsource='s'\n",
         r"a.b value True is not a"),
        ("[a.b]\nvalue = []\nunit='1'\nmin=0\nmax=1\ndescription='d'\nsource='s'\n",
         r"a.b value is an empty list"),
        ("[a.b]\nvalue = nan\nunit='1'\nmin=0\nmax=1\ndescription='d'\nsource='s'\n", r"a.b value is nan"),
        ("[a.b]\nvalue = 1\nunit=''\nmin=0\nmax=1\ndescription='d'\nsource='s'\n", r"a.b has an empty unit"),
        ("[a.b]\nvalue = 1\nunit='1'\nmin=0\nmax=1\ndescription='d'\nsource='s'\nassumption='yes'\n",
         r"a.b assumption must be true or false"),
        ("[a]\n", r"holds no parameter entries"),
    ],
)
def test_other_invalid_entries(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError, match=message):
        load_parameters(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="no such parameter file"):
        load_parameters(tmp_path / "absent.toml")
    (tmp_path / "empty.toml").write_bytes(b"")
    with pytest.raises(InputError, match="the parameter file is empty"):
        load_parameters(tmp_path / "empty.toml")
    (tmp_path / "latin1.toml").write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ParameterError, match="not UTF-8 text"):
        load_parameters(tmp_path / "latin1.toml")


def test_oversized_file_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHARD_MAX_FILE_MB", "0.0001")  # ~100 bytes
    with pytest.raises(InputError, match="more than the 0 MB limit"):
        load_parameters(DATA / "base.toml")


# -- round trip, frame, hash --------------------------------------------------------------------------------
def test_toml_round_trip(base, tmp_path):
    path = base.write(tmp_path / "base.toml")
    again = load_parameters(path)
    assert again == base and again.hash == base.hash
    assert tomllib.loads(base.to_toml())["phenology"]["bloom_gdd"]["note"] == \
        "Awaiting calibration against bloom dates."


def test_to_frame(base):
    frame = base.to_frame()
    assert list(frame.columns) == ["key", "value", "unit", "min", "max", "description", "source",
                                   "assumption", "note"]
    assert frame["key"].tolist() == list(base)
    row = frame.set_index("key").loc["phenology.base_temperature"]
    assert (row["value"], row["unit"], row["min"], row["max"]) == (13.0, "degC", 10.0, 15.0)
    assert frame.set_index("key").loc["elevation.lapse_rate", "value"][2] == 0.55
    assert frame.set_index("key").loc["elevation.lapse_rate", "note"] is None


def test_hash_stable_and_sensitive(base):
    # stable within a run and across processes (no dependence on dict order or PYTHONHASHSEED)
    assert base.hash == load_parameters(DATA / "base.toml").hash
    assert len(base.hash) == 12 and int(base.hash, 16) >= 0
    code = ("from orchard.params import load_parameters; "
            f"print(load_parameters({str(DATA / 'base.toml')!r}).hash)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert out.stdout.strip() == base.hash
    # changes when a value changes, not when only a description changes
    assert base.with_overrides({"phenology.base_temperature": 12.0}).hash != base.hash
    assert base.with_overrides({"phenology.base_temperature": {"value": 13.0, "description": "x"}}).hash == \
        base.hash
    # 13 and 13.0 are the same value
    assert base.with_overrides({"phenology.base_temperature": 13}).hash == base.hash


# -- overrides ----------------------------------------------------------------------------------------------
def test_overrides_from_dict(base):
    new = base.with_overrides({"phenology.base_temperature": 12.0,
                               "elevation.lapse_rate": [0.5] * 12})
    assert new["phenology.base_temperature"] == 12.0
    assert new["elevation.lapse_rate"] == (0.5,) * 12
    assert base["phenology.base_temperature"] == 13.0  # the original is untouched
    assert new.entry("phenology.base_temperature").source == base.entry("phenology.base_temperature").source
    assert diff(base, new) == [("elevation.lapse_rate", base["elevation.lapse_rate"], (0.5,) * 12),
                               ("phenology.base_temperature", 13.0, 12.0)]


def test_overrides_from_files(base):
    values = base.with_overrides(DATA / "overrides_values.toml")
    assert values["phenology.base_temperature"] == 12.5
    assert diff(base, values) == [("phenology.base_temperature", 13.0, 12.5)]
    entries = base.with_overrides(str(DATA / "overrides_entries.toml"))
    bloom = entries.entry("phenology.bloom_gdd")
    assert (bloom.value, bloom.source, bloom.assumption) == (560, "Test fixture: a local calibration", False)
    assert (bloom.min, bloom.max, bloom.unit) == (200, 900, "degC d")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"phenology.base_temp": 12.0}, r"overrides: unknown parameter 'phenology.base_temp' \(not in "
                                        r"parameter set 'base'\); did you mean 'phenology.base_temperature'"),
        ({"nothing.like.it": 1.0}, r"unknown parameter 'nothing.like.it' .*; check the name"),
        ({"phenology.base_temperature": 18.0}, r"phenology.base_temperature = 18.0 degC is outside its range "
                                               r"10.0–15.0 degC"),
        ({"phenology.base_temperature": {"value": 55.0, "unit": "degF"}},
         r"phenology.base_temperature is given in 'degF' but the parameter is in 'degC'"),
        ({"phenology.base_temperature": {"value": 12.0, "max": 20.0}}, r"override changes 'max' from 15.0"),
        ({"phenology.base_temperature": {"valu": 12.0}}, r"unknown field 'valu' \(did you mean 'value'\?\)"),
        ({"elevation.lapse_rate": 0.6}, r"elevation.lapse_rate must be a list of 12 numbers"),
        ({"elevation.lapse_rate": [0.6] * 11}, r"elevation.lapse_rate must be a list of 12 numbers"),
        ({"phenology.base_temperature": "12"}, r"value '12' is not a number"),
    ],
)
def test_override_errors(base, overrides, message):
    with pytest.raises(ParameterError, match=message):
        base.with_overrides(overrides)


def test_override_file_errors(base, tmp_path):
    path = tmp_path / "o.toml"
    path.write_text("[phenology]\nbase_temperatur = 12.0\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=rf"{path.name}: unknown parameter 'phenology.base_temperatur'"):
        base.with_overrides(path)


# -- core parameter set -------------------------------------------------------------------------------------
def test_core_parameters():
    core = core_parameters()
    assert core.name == "weather"
    expected = {
        "elevation.lapse_rate": (0.6, "degC/100m", 0.3, 1.0),
        "radiation.angstrom_a": (0.25, "1", 0.1, 0.4),
        "radiation.angstrom_b": (0.50, "1", 0.3, 0.7),
        "gaps.max_fill_days": (2, "d", 0, 5),
        "gaps.max_fill_hours": (3, "h", 0, 12),
        "terrain.horizon_search_distance": (3000.0, "m", 500.0, 20000.0),
        "terrain.observer_height": (1.5, "m", 0.0, 10.0),
        "wind.measurement_height": (10.0, "m", 2.0, 50.0),
    }
    assert set(core) == set(expected)
    for key, (value, unit, lo, hi) in expected.items():
        e = core.entry(key)
        assert (e.value, e.unit, e.min, e.max) == (value, unit, lo, hi), key
    assert core.entry("radiation.angstrom_a").assumption is True
    assert "FAO" in core.entry("radiation.angstrom_a").source
    assert "WMO" in core.entry("wind.measurement_height").source
    # a monthly lapse-rate table is accepted as an override
    monthly = core.with_overrides({"elevation.lapse_rate": {"value": 0.6}})
    assert monthly.hash == core.hash


# -- versions in the database -------------------------------------------------------------------------------
@pytest.fixture
def engine():
    engine = init_db("sqlite://")
    with session_scope(engine) as s:
        upsert_users(s, [
            {"user_id": "agro_zhang", "display_name": "Zhang", "role": "agronomist"},
            {"user_id": "grower_li", "display_name": "Li", "role": "grower"},
        ])
    return engine


def test_versions_save_change_identical(engine, base):
    with session_scope(engine) as s:
        assert save_version(s, base, author="agro_zhang", comment="defaults") == 1
    changed = base.with_overrides({"phenology.base_temperature": 12.5})
    with session_scope(engine) as s:
        assert save_version(s, changed, author="agro_zhang", comment="Fengjie trial") == 2
        # identical content again: no new row, the existing number back
        assert save_version(s, changed, author="agro_zhang") == 2
    with session_scope(engine) as s:
        rows = s.query(ParameterVersion).order_by(ParameterVersion.version).all()
        assert [r.version for r in rows] == [1, 2]
        assert rows[0].changes == []
        assert rows[1].changes == [{"key": "phenology.base_temperature", "field": "value", "old": 13.0,
                                    "new": 12.5}]
        assert rows[1].hash == changed.hash != rows[0].hash
        assert rows[1].author_id == "agro_zhang"
        assert rows[1].created_utc.tzinfo is not None
        json.dumps(rows[1].content)  # plain JSON
        records = list_versions(s, "base")
        assert [(r.version, r.n_changes, r.comment, r.author) for r in records] == [
            (1, 0, "defaults", "agro_zhang"), (2, 1, "Fengjie trial", "agro_zhang")]
        latest = load_version(s, "base")
        first = load_version(s, "base", 1)
    assert latest.version == 2 and latest["phenology.base_temperature"] == 12.5
    assert latest.hash == changed.hash
    assert first == base and first.hash == base.hash
    assert latest.entry("elevation.lapse_rate").value == base["elevation.lapse_rate"]


def test_revert_is_a_new_version(engine, base):
    with session_scope(engine) as s:
        save_version(s, base, author="agro_zhang")
        save_version(s, base.with_overrides({"phenology.bloom_gdd": 600}), author="agro_zhang")
        assert save_version(s, base, author="agro_zhang", comment="revert") == 3


def test_version_access_and_missing(engine, base):
    with session_scope(engine) as s:
        with pytest.raises(AccessError, match="user 'grower_li' is a grower; only agronomists and admins"):
            save_version(s, base, author="grower_li")
        with pytest.raises(AccessError, match="unknown user 'nobody'"):
            save_version(s, base, author="nobody")
        with pytest.raises(ParameterError, match="parameter set 'base' is not in the database"):
            load_version(s, "base")
        save_version(s, base, author="agro_zhang")
        with pytest.raises(ParameterError, match="version 7 of parameter set 'base' is not in the database"):
            load_version(s, "base", 7)
