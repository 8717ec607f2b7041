"""The growth package's parameter sets in the registry (:mod:`orchard.bundle`): one ``growth.<cultivar>``
set per shipped cultivar file, each with the cross-parameter rules its per-entry ranges cannot express."""

from __future__ import annotations

from pathlib import Path

from orchard.bundle import SetDeclaration
from orchard.errors import ParameterError
from orchard.params import ParameterSet, load_parameters

__all__ = ["check_cultivar", "declarations"]


def _pair(p: ParameterSet, low: str, high: str, strict: bool = True) -> None:
    a, b = float(p[low]), float(p[high])
    if (a >= b) if strict else (a > b):
        relation = "below" if strict else "at most"
        raise ParameterError(f"parameter set '{p.name}': {low} ({a:g}) must be {relation} {high} ({b:g}); "
                             "correct the values.")


def check_cultivar(p: ParameterSet) -> None:
    """Rules across a cultivar set's parameters: ordered temperature thresholds and stage thresholds.

    - thermal.base_temperature < thermal.upper_temperature;
    - carbon.temperature_min < carbon.temperature_opt_low <= carbon.temperature_opt_high <
      carbon.temperature_max (the trapezoidal temperature response of assimilation);
    - fruit.petal_fall_gdd < fruit.cell_division_gdd (petal fall comes before the end of cell division);
    - fruit.initial_diameter < fruit.final_diameter and quality.acid_final < quality.acid_initial
      (the logistic and exponential curves run from the first to the second).
    """
    _pair(p, "thermal.base_temperature", "thermal.upper_temperature")
    _pair(p, "carbon.temperature_min", "carbon.temperature_opt_low")
    _pair(p, "carbon.temperature_opt_low", "carbon.temperature_opt_high", strict=False)
    _pair(p, "carbon.temperature_opt_high", "carbon.temperature_max")
    _pair(p, "fruit.petal_fall_gdd", "fruit.cell_division_gdd")
    _pair(p, "fruit.initial_diameter", "fruit.final_diameter")
    _pair(p, "quality.acid_final", "quality.acid_initial")


def _shipped(code: str):
    def shipped() -> ParameterSet:
        from growth.cultivars import cultivar_parameters

        return cultivar_parameters(code)

    shipped.__name__ = f"shipped_growth_{code}"
    return shipped


def _slope() -> ParameterSet:
    # the TOML directly: importing growth.slope would bring pvlib into every resolve()
    return load_parameters(Path(__file__).parent / "parameters" / "slope.toml", name="growth.slope")


def declarations() -> list[SetDeclaration]:
    """One ``growth.<code>`` set per cultivar with a shipped file; the weekly run reads stored versions and
    district variants (``growth.<code>@<district>``) of each."""
    from growth.cultivars import cultivar_codes

    sets = [SetDeclaration(name=f"growth.{code}", package="growth", shipped=_shipped(code),
                           check=check_cultivar, used_by="weekly", kind="cultivar", code=code)
            for code in cultivar_codes()]
    sets.append(SetDeclaration(name="growth.slope", package="growth", shipped=_slope,
                               used_by="weekly", kind="growth", code="slope"))
    return sets
