"""The advice package's parameter sets in the registry (:mod:`orchard.bundle`): the rule thresholds
(``advice.rules``), the spray rotation limits (``rotation``) and the carbon factors of the season account
(``carbon``)."""

from __future__ import annotations

from orchard.bundle import SetDeclaration
from orchard.errors import ParameterError
from orchard.params import ParameterSet, load_parameters

__all__ = ["check_rules", "declarations"]


def check_rules(p: ParameterSet) -> None:
    """Rule thresholds: each pest's calendar spray months run forward (``calendar.<pest>_first_month`` <=
    ``_last_month``; the rule does not wrap over the new year) and the nitrogen split gives a positive
    total."""
    for key in p:
        if key.startswith("calendar.") and key.endswith("_first_month"):
            last = key[: -len("_first_month")] + "_last_month"
            if last in p.entries and p[key] > p[last]:
                raise ParameterError(f"parameter set '{p.name}': {key} ({p[key]}) is after {last} "
                                     f"({p[last]}); the calendar months must run forward within one year, "
                                     "so correct them.")
    if sum(float(x) for x in p["nitrogen.split"]) <= 0:
        raise ParameterError(f"parameter set '{p.name}': nitrogen.split is all zero; give each stage's share "
                             "of the annual nitrogen.")


def _rules() -> ParameterSet:
    from advice.rules import RULES_FILE

    return load_parameters(RULES_FILE, name="advice.rules")


def _rotation() -> ParameterSet:
    from advice.products import ROTATION_FILE

    return load_parameters(ROTATION_FILE)


def _carbon() -> ParameterSet:
    from advice.accounting import carbon_parameters

    return carbon_parameters()


def _protection() -> ParameterSet:
    from advice.protection import PROTECTION_FILE

    return load_parameters(PROTECTION_FILE, name="advice.protection")


def _chain() -> ParameterSet:
    from advice.chain import chain_parameters

    return chain_parameters()


def _cycle() -> ParameterSet:
    from advice.cycle import cycle_parameters

    return cycle_parameters()


def declarations() -> list[SetDeclaration]:
    """``advice.rules``, ``rotation``, ``advice.protection`` and ``advice.chain`` (read by the weekly run),
    ``carbon`` (read by the season account) and ``advice.cycle`` (read by the daily cycle)."""
    return [
        SetDeclaration(name="advice.rules", package="advice", shipped=_rules, check=check_rules,
                       used_by="weekly", kind="advice", code="rules"),
        SetDeclaration(name="rotation", package="advice", shipped=_rotation, used_by="weekly",
                       kind="advice", code="rotation"),
        SetDeclaration(name="carbon", package="advice", shipped=_carbon, used_by="accounting", kind="advice",
                       code="carbon"),
        SetDeclaration(name="advice.protection", package="advice", shipped=_protection, used_by="weekly",
                       kind="advice", code="protection"),
        SetDeclaration(name="advice.chain", package="advice", shipped=_chain, used_by="weekly",
                       kind="advice", code="chain"),
        SetDeclaration(name="advice.cycle", package="advice", shipped=_cycle,
                       used_by="cycle", kind="advice", code="cycle"),
    ]
