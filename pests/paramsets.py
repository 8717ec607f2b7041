"""The pests package's parameter sets: one TOML per pest plus the host calendar and the outlook scoring.

Each file lives in ``pests/parameters/`` and is read with :func:`orchard.params.load_parameters` (value, unit,
min, max, description, source; ``assumption = true`` marks values awaiting local calibration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from orchard.bundle import ParameterBundle, SetDeclaration
from orchard.errors import InputError, ParameterError
from orchard.params import ParameterSet, in_force, load_parameters

__all__ = ["PESTS", "PEST_LABELS", "PARAMETER_DIR", "SETS", "check_pests", "check_set", "declarations",
           "pest_parameters", "load_all"]

#: The pests this package models, in output order.
PESTS = ("black_spot", "canker", "mites", "leaf_miner")
#: English names for the CLI (the app translates the keys).
PEST_LABELS = {
    "black_spot": "citrus black spot",
    "canker": "citrus canker",
    "mites": "citrus red mite",
    "leaf_miner": "citrus leafminer",
}
PARAMETER_DIR = Path(__file__).resolve().parent / "parameters"
#: Every parameter set of the package: one per pest, the host calendar and the outlook scoring.
SETS = PESTS + ("host", "outlook")


def check_pests(pests: Iterable[str] | str | None) -> tuple[str, ...]:
    """The requested pests in package order; an unknown name is an InputError listing the known ones."""
    if pests is None:
        return PESTS
    if isinstance(pests, str):
        pests = [p.strip() for p in pests.split(",") if p.strip()]
    pests = list(pests)
    for name in pests:
        if name not in PESTS:
            raise InputError(f"unknown pest '{name}'; known pests are {', '.join(PESTS)}.")
    if not pests:
        raise InputError(f"no pest given; choose from {', '.join(PESTS)}.")
    return tuple(p for p in PESTS if p in pests)


def pest_parameters(name: str, overrides: Mapping | str | Path | None = None) -> ParameterSet:
    """The shipped parameter set ``name`` (a pest, ``host`` or ``outlook``), with optional overrides."""
    if name not in SETS:
        raise InputError(f"unknown pest '{name}'; known pests are {', '.join(PESTS)}.")
    params = load_parameters(PARAMETER_DIR / f"{name}.toml")
    if overrides:
        params = params.with_overrides(overrides)
    _check_consistency(params)
    return params


def check_set(p: ParameterSet) -> None:
    """Cross-parameter rules a per-entry range cannot express (the registry's check of every pest set):
    tmin < topt < tmax triples, wmin <= wmax, event.tmin < event.tmax, 4 increasing level bounds,
    3 increasing horizons, as many flush ends as starts. Raises ParameterError naming the set and keys."""
    _check_consistency(p)


def _check_consistency(p: ParameterSet) -> None:
    """Cross-parameter rules a per-entry range cannot express."""
    triples = [
        ("infection.tmin", "infection.topt", "infection.tmax"),
        ("development.t0", "growth.topt", "growth.tmax"),
        ("suitability.tmin", "suitability.topt", "suitability.tmax"),
    ]
    for keys in triples:
        if all(k in p.entries for k in keys):
            a, b, c = (p[k] for k in keys)
            if not a < b < c:
                raise ParameterError(
                    f"parameter set '{p.name}': {keys[0]} < {keys[1]} < {keys[2]} must hold, "
                    f"got {a}, {b}, {c}; correct the values."
                )
    if "infection.wmin" in p.entries and p["infection.wmin"] > p["infection.wmax"]:
        raise ParameterError(
            f"parameter set '{p.name}': infection.wmin ({p['infection.wmin']}) is above "
            f"infection.wmax ({p['infection.wmax']}); correct the values."
        )
    if "event.tmin" in p.entries and p["event.tmin"] >= p["event.tmax"]:
        raise ParameterError(f"parameter set '{p.name}': event.tmin must be below event.tmax.")
    level_keys = [
        k for k in p.entries if k == "level.bounds" or (k.startswith("level.") and p.name == "outlook")
    ]
    for key in level_keys:
        bounds = list(p[key])
        if len(bounds) != 4 or bounds != sorted(bounds):
            raise ParameterError(
                f"parameter set '{p.name}': {key} must be 4 increasing numbers, got {bounds}."
            )
    if "horizon.days" in p.entries:
        days = list(p["horizon.days"])
        if len(days) != 3 or days != sorted(days):
            raise ParameterError(
                f"parameter set '{p.name}': horizon.days must be 3 increasing numbers, got {days}."
            )
    if "flush.start_doy" in p.entries and len(p["flush.start_doy"]) != len(p["flush.end_doy"]):
        raise ParameterError(
            f"parameter set '{p.name}': flush.start_doy and flush.end_doy must have the same "
            "number of flushes."
        )


def load_all(
    params: ParameterBundle | Mapping[str, ParameterSet | Mapping] | None = None,
    pests: Iterable[str] | None = None, session=None,
) -> dict[str, ParameterSet]:
    """Parameter sets for ``pests`` plus ``host`` and ``outlook``.

    ``params`` maps a name to a ready ParameterSet or to an overrides dict; unknown names are errors. It may
    also be a run's :class:`orchard.bundle.ParameterBundle`: its pest sets are taken (the sets in force,
    the bundle's district variant where it holds one) and its other sets ignored. With a database
    ``session`` a set not given is the latest version an agronomist stored under its name (``black_spot``,
    ``host`` …), else the shipped file.
    """
    if isinstance(params, ParameterBundle):
        params = {name: params[name] for name in SETS if name in params}
    params = dict(params or {})
    names = check_pests(pests)
    if "canker" in names and "leaf_miner" not in names:  # canker's leafminer multiplier needs the CLM model
        names = names + ("leaf_miner",)
    names = names + ("host", "outlook")
    for key in params:
        if key not in SETS:
            raise InputError(
                f"unknown pest '{key}' in params; known pests are {', '.join(PESTS)} (plus "
                "'host' and 'outlook')."
            )
    out = {}
    for name in names:
        given = params.get(name)
        if isinstance(given, ParameterSet):
            _check_consistency(given)
            out[name] = given
        elif given is None and session is not None:
            out[name] = in_force(session, pest_parameters(name))
            _check_consistency(out[name])
        else:
            out[name] = pest_parameters(name, given)
    return out


def _shipped(name: str):
    def shipped() -> ParameterSet:
        return load_parameters(PARAMETER_DIR / f"{name}.toml")

    shipped.__name__ = f"shipped_{name}"
    return shipped


def declarations() -> list[SetDeclaration]:
    """The registry entries (:mod:`orchard.bundle`) of the four pest sets, ``host`` and ``outlook``; the
    weekly run reads their stored versions."""
    return [SetDeclaration(name=name, package="pests", shipped=_shipped(name), check=check_set,
                           used_by="weekly", kind="pest", code=name) for name in SETS]
