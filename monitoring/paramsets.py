"""The monitoring package's parameter sets in the registry (:mod:`orchard.bundle`): the soil sets (water
balance, sensor QC thresholds, soil advice) and the imagery set, with the cross-parameter rules their
per-entry ranges cannot express."""

from __future__ import annotations

from orchard.bundle import SetDeclaration
from orchard.errors import ParameterError
from orchard.params import ParameterSet

__all__ = ["check_imagery", "check_soil_advice", "check_soil_qc", "check_water_balance", "declarations"]


def _increasing(p: ParameterSet, key: str, strict: bool = True) -> None:
    values = [float(x) for x in p[key]]
    ok = all((a < b) if strict else (a <= b) for a, b in zip(values, values[1:], strict=False))
    if not ok:
        text = ", ".join(f"{x:g}" for x in values)
        raise ParameterError(f"parameter set '{p.name}': {key} must be {len(values)} "
                             f"{'increasing' if strict else 'non-decreasing'} numbers, got {text}; "
                             "correct the values.")


def check_water_balance(p: ParameterSet) -> None:
    """Water balance: the canopy-cover points of the Kc table increase, and the default wilting point lies
    below the default field capacity (else the total available water is not positive)."""
    _increasing(p, "kc.canopy_cover_points")
    wp, fc = float(p["defaults.wilting_point"]), float(p["defaults.field_capacity"])
    if wp >= fc:
        raise ParameterError(f"parameter set '{p.name}': defaults.wilting_point ({wp:g}) must be below "
                             f"defaults.field_capacity ({fc:g}); correct the values.")


def check_soil_qc(p: ParameterSet) -> None:
    """Sensor QC: every plausible range ``range.<variable>`` is [low, high] with low below high."""
    for key in p:
        if key.startswith("range."):
            _increasing(p, key)


def check_soil_advice(p: ParameterSet) -> None:
    """Soil advice: the recommended N ranges and the optimum pH are [low, high] with low below high; the
    nitrogen split gives a positive total."""
    for key in ("nitrogen.sweet_orange_range", "nitrogen.mandarin_range", "ph.optimum"):
        _increasing(p, key)
    if sum(float(x) for x in p["nitrogen.split"]) <= 0:
        raise ParameterError(f"parameter set '{p.name}': nitrogen.split is all zero; give each stage's "
                             "share of the annual nitrogen.")


def check_imagery(p: ParameterSet) -> None:
    """Imagery: a poor-growth patch cannot need more pixels than the plot it lies in
    (alert.min_patch_px <= alert.min_plot_px)."""
    patch, plot = float(p["alert.min_patch_px"]), float(p["alert.min_plot_px"])
    if patch > plot:
        raise ParameterError(f"parameter set '{p.name}': alert.min_patch_px ({patch:g}) must be at most "
                             f"alert.min_plot_px ({plot:g}); correct the values.")


def _water_balance() -> ParameterSet:
    from monitoring.soil import water_balance

    return water_balance.default_parameters()


def _qc() -> ParameterSet:
    from monitoring.soil import qc

    return qc.default_parameters()


def _soil_advice() -> ParameterSet:
    from monitoring.soil import advice

    return advice.default_parameters()


def _imagery() -> ParameterSet:
    from monitoring import run

    return run.default_parameters()


def declarations() -> list[SetDeclaration]:
    """``soil.water_balance``, ``soil.qc``, ``soil.advice`` and ``monitoring.imagery``; the weekly run reads
    them from its parameter bundle (stored versions over the shipped files)."""
    return [
        SetDeclaration(name="soil.water_balance", package="monitoring.soil", shipped=_water_balance,
                       check=check_water_balance, used_by="weekly", kind="soil", code="water_balance"),
        SetDeclaration(name="soil.qc", package="monitoring.soil", shipped=_qc, check=check_soil_qc,
                       used_by="weekly", kind="soil", code="qc"),
        SetDeclaration(name="soil.advice", package="monitoring.soil", shipped=_soil_advice,
                       check=check_soil_advice, used_by="weekly", kind="soil", code="soil_advice"),
        SetDeclaration(name="monitoring.imagery", package="monitoring", shipped=_imagery, check=check_imagery,
                       used_by="weekly", kind="monitoring", code="imagery"),
    ]
