"""Cultivar parameter sets: species defaults (``parameters/citrus.toml``) with per-cultivar overrides.

Each cultivar of the Three Gorges belt has a file ``parameters/cultivars/<code>.toml`` overriding a few
species values (same units and ranges, each with its source). An agronomist's calibrated values are stored
as new versions of the set ``growth.<code>`` in the database and win over the shipped files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from orchard import params
from orchard.errors import InputError

__all__ = ["CULTIVAR_DIR", "SPECIES_FILE", "cultivar_codes", "cultivar_parameters", "parameter_arrays",
           "parameters_for_plots", "parameters_from_bundle", "set_keys_for_bundle", "species_parameters"]

PARAMETER_DIR = Path(__file__).resolve().parent / "parameters"
SPECIES_FILE = PARAMETER_DIR / "citrus.toml"
CULTIVAR_DIR = PARAMETER_DIR / "cultivars"
DISTRICT_SEPARATOR = params.DISTRICT_SEPARATOR


def species_parameters() -> params.ParameterSet:
    """The species defaults (sweet orange), validated."""
    return params.load_parameters(SPECIES_FILE, name="growth.citrus")


def cultivar_codes() -> tuple[str, ...]:
    """Codes of the cultivars with a shipped parameter file (the plot's ``cultivar`` field)."""
    return tuple(sorted(p.stem for p in CULTIVAR_DIR.glob("*.toml")))


def cultivar_parameters(code: str, session=None) -> params.ParameterSet:
    """The parameter set of one cultivar: the latest stored version if any, else the shipped defaults.

    Parameters
    ----------
    code : str
        Cultivar code, e.g. ``"lane_late_navel"`` (see :func:`cultivar_codes`).
    session : sqlalchemy.orm.Session, optional
        When given, an agronomist's stored version ``growth.<code>`` is used if there is one.

    Raises
    ------
    orchard.errors.InputError
        Unknown cultivar code.
    """
    code, _, district = str(code).partition(DISTRICT_SEPARATOR)
    codes = cultivar_codes()
    if code not in codes:
        raise InputError(f"unknown cultivar '{code}'; known cultivars are {', '.join(codes)} "
                         f"(add a file to growth/parameters/cultivars for a new one).")
    name = f"growth.{code}"
    if district and session is not None and params.list_versions(session, f"{name}{DISTRICT_SEPARATOR}{district}"):
        return params.load_version(session, f"{name}{DISTRICT_SEPARATOR}{district}")
    if session is not None and params.list_versions(session, name):
        return params.load_version(session, name)
    shipped = species_parameters().with_overrides(CULTIVAR_DIR / f"{code}.toml")
    return params.ParameterSet(name, shipped.entries, source_path=CULTIVAR_DIR / f"{code}.toml")


def set_keys_for_plots(cultivars: Sequence[str], districts: Sequence[str] | None = None,
                       session=None) -> list[str]:
    """Per plot, the key of its parameter set: ``<code>@<district>`` where an agronomist stored a version
    for that district (``growth.<code>@<district>``), else the cultivar code."""
    if districts is None or session is None:
        return [str(c) for c in cultivars]
    keys, known = [], {}
    for code, district in zip(cultivars, districts, strict=True):
        key = f"{code}{DISTRICT_SEPARATOR}{district}" if district and district == district else str(code)
        if key not in known:
            known[key] = key != str(code) and bool(params.list_versions(session, f"growth.{key}"))
        keys.append(key if known[key] else str(code))
    return keys


def parameters_for_plots(cultivars: Sequence[str], plot_ids: Sequence[str] | None = None,
                         session=None) -> dict[str, params.ParameterSet]:
    """The parameter set of every cultivar among the plots; an unknown cultivar names its first plot."""
    sets: dict[str, params.ParameterSet] = {}
    for i, code in enumerate(cultivars):
        if code in sets:
            continue
        if code is None or code != code or str(code).strip() == "":
            where = f"plot {plot_ids[i]}" if plot_ids is not None else f"plot number {i + 1}"
            raise InputError(f"{where} has no cultivar; set its cultivar (one of "
                             f"{', '.join(cultivar_codes())}).")
        try:
            sets[code] = cultivar_parameters(str(code), session=session)
        except InputError as exc:
            if plot_ids is None:
                raise
            raise InputError(f"plot {plot_ids[i]}: {exc}") from None
    return sets


def _check_codes(cultivars: Sequence[str], plot_ids: Sequence[str] | None, known: Sequence[str]) -> None:
    for i, code in enumerate(cultivars):
        where = f"plot {plot_ids[i]}" if plot_ids is not None else f"plot number {i + 1}"
        if code is None or code != code or str(code).strip() == "":
            raise InputError(f"{where} has no cultivar; set its cultivar (one of {', '.join(known)}).")
        if str(code) not in known:
            raise InputError(f"{where}: unknown cultivar '{code}'; known cultivars are {', '.join(known)} "
                             "(add a file to growth/parameters/cultivars for a new one).")


def _same(a: params.ParameterSet, b: params.ParameterSet) -> bool:
    return a is b or (a.name, a.version, a.hash) == (b.name, b.version, b.hash)


def set_keys_for_bundle(bundle, cultivars: Sequence[str],
                        districts: Sequence[str] | None = None) -> list[str]:
    """Per plot, its key in :func:`parameters_from_bundle`: ``<code>@<district>`` where the bundle holds a
    variant of ``growth.<code>`` for the plot's district that differs from the set under the plain name,
    else the cultivar code."""
    keys = []
    for i, code in enumerate(cultivars):
        code = str(code)
        district = districts[i] if districts is not None else None
        key = code
        if district and district == district:  # not None, not NaN
            name = f"growth.{code}"
            if not _same(bundle.get_for(name, str(district)), bundle.get_for(name)):
                key = f"{code}{DISTRICT_SEPARATOR}{district}"
        keys.append(key)
    return keys


def parameters_from_bundle(bundle, cultivars: Sequence[str], districts: Sequence[str] | None = None, *,
                           plot_ids: Sequence[str] | None = None) -> dict[str, params.ParameterSet]:
    """The cultivar sets of a run's parameter bundle, as :func:`growth.model.run` takes them (``params=``).

    Parameters
    ----------
    bundle : orchard.bundle.ParameterBundle
        The run's parameter sets (``growth.<code>`` and district variants ``growth.<code>@<district>``).
    cultivars : sequence of str
        Each plot's cultivar code.
    districts : sequence of str, optional
        Each plot's district; a plot whose district has its own variant of the cultivar's set uses it.
    plot_ids : sequence of str, optional
        Named in the error for a plot without a known cultivar.

    Returns
    -------
    dict
        Cultivar code -> the set under the plain name (the bundle's district's variant when it was resolved
        for a district), plus ``<code>@<district>`` -> that district's variant for every plot whose district
        uses a different one. ``growth.model.run`` picks each plot's set by its district (or by the
        per-plot keys of :func:`set_keys_for_bundle` passed as ``set_keys=``).
    """
    _check_codes(cultivars, plot_ids, cultivar_codes())
    keys = set_keys_for_bundle(bundle, cultivars, districts)
    sets: dict[str, params.ParameterSet] = {}
    for code, key in zip(cultivars, keys, strict=True):
        code = str(code)
        if code not in sets:
            sets[code] = bundle.get_for(f"growth.{code}")
        if key != code and key not in sets:
            sets[key] = bundle.get_for(f"growth.{code}", key.partition(DISTRICT_SEPARATOR)[2])
    return sets


def parameter_arrays(cultivars: Sequence[str],
                     sets: Mapping[str, params.ParameterSet]) -> dict[str, np.ndarray]:
    """Per-plot arrays of every parameter, so plots of different cultivars run in one vectorised call.

    Returns
    -------
    dict
        ``{"fruit.final_diameter": array of shape (plot,), ...}``.
    """
    codes = np.asarray(cultivars, dtype=object)
    keys = next(iter(sets.values())).keys()
    arrays = {}
    for key in keys:
        values = np.empty(len(codes), dtype=float)
        for code, pset in sets.items():
            values[codes == code] = float(pset[key])
        arrays[key] = values
    return arrays
