"""Versions an agronomist stores (app or CLI) are what the next run uses: pests, rules and rotation."""

from __future__ import annotations

import pytest

from advice.products import rotation_parameters
from advice.rules import rules_parameters
from orchard import params, store
from pests.paramsets import load_all


@pytest.fixture
def session(tmp_path):
    engine = store.init_db(f"sqlite:///{tmp_path / 'p.db'}")
    with store.session_scope(engine) as s:
        store.upsert_users(s, [{"user_id": "zhao", "display_name": "Zhao", "role": "agronomist"}])
        yield s
    engine.dispose()


@pytest.mark.parametrize("loader, key", [
    (rules_parameters, "spray.skip_max_level"),
    (rotation_parameters, "rotation.max_consecutive_same_code"),
    (lambda s=None: load_all(pests=["black_spot"], session=s)["black_spot"], "infection.tmin"),
])
def test_a_stored_version_is_in_force(session, loader, key):
    shipped = loader()
    assert loader(session) == shipped and loader(session).version is None  # nothing stored yet
    new_value = shipped.entries[key].value + 1
    params.save_version(session, shipped.with_overrides({key: new_value}), author="zhao", comment="field data")
    current = loader(session)
    assert current[key] == new_value and current.version == 1
    assert current.name == shipped.name and current.hash != shipped.hash
    assert loader()[key] == shipped[key]  # without a database: the shipped file
