"""The layers of docs/design.md, enforced: the import-linter contracts of pyproject.toml hold.

orchard/ imports no model package (the CLI finds each package's commands through entry points); growth, pests
and monitoring import neither each other nor advice, exports or the app; the app imports no model internals.
A broken contract fails with import-linter's report (which module imports which, on which line).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports_command() -> list[str]:
    """``lint-imports`` of the Python running the tests (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "lint-imports"
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed; install the test extra: pip install -e '.[test]'")
    return [found]


def contracts() -> list[dict]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept():
    result = subprocess.run([*lint_imports_command(), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"an import contract is broken (pyproject [tool.importlinter]):\n{report}"
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", report)
    assert kept and int(kept.group(1)) == len(contracts()), f"not every contract was checked:\n{report}"
    # An import the app no longer makes stays listed in ignore_imports until someone deletes its line: say so.
    for line in re.findall(r"No matches for ignored import .*", report):
        warnings.warn(f"{line} Delete it from pyproject.toml's ignore_imports.", UserWarning, stacklevel=1)


def test_the_app_contract_lists_only_app_imports():
    """The exceptions of the app's contract are imports from the app into a model, one per line (so each can
    be deleted when the page reads stored results instead)."""
    (app_contract,) = [c for c in contracts() if c.get("source_modules") == ["app"]]
    assert app_contract["forbidden_modules"] == ["growth", "pests", "monitoring"]
    for rule in app_contract.get("ignore_imports", []):
        importer, _, imported = rule.partition(" -> ")
        assert importer.startswith("app.") and "*" not in rule, rule
        assert imported.split(".")[0] in ("growth", "pests", "monitoring"), rule
