"""One parameter bundle per run: the registry of parameter sets, and the frozen bundle of those in force.

Every package declares its parameter sets once, in a function returning a list of :class:`SetDeclaration`
(name under which versions are stored, the package, a loader of the shipped set, a consistency check, who
reads stored versions, the kind of set). The functions are found through the entry-point group
``orchard.parameter_sets`` (``pyproject.toml``), so the core imports no module and a new package only adds
one entry point::

    [project.entry-points."orchard.parameter_sets"]
    growth = "growth.paramsets:declarations"

:func:`resolve` reads, once per run, the version in force of every declared set (the latest stored version
over the shipped file, :func:`orchard.params.in_force`), every stored district variant
(``<name>@<district>``) and optional what-if overrides, checks them, and returns a frozen
:class:`ParameterBundle`. Orchestrators take the bundle, never a database session; a run records
:meth:`ParameterBundle.versions` and :attr:`ParameterBundle.hash`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType

from orchard import params
from orchard.errors import ParameterError
from orchard.params import DISTRICT_SEPARATOR, ParameterSet

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "ParameterBundle",
    "SetDeclaration",
    "core_declarations",
    "declared_sets",
    "resolve",
    "shipped_bundle",
]

#: Entry-point group in which packages declare their parameter sets.
ENTRY_POINT_GROUP = "orchard.parameter_sets"
#: Kinds of parameter set, in the order :func:`declared_sets` lists them (the app's order too).
KINDS = ("core", "cultivar", "growth", "pest", "soil", "monitoring", "advice")
#: Who reads the stored versions of a set: the weekly run, the season account, the daily cycle, or nobody yet.
USED_BY = ("weekly", "accounting", "cycle", "none")


@dataclass(frozen=True)
class SetDeclaration:
    """One parameter set a package uses, as it declares it in the registry.

    Attributes
    ----------
    name : str
        Name under which versions are stored (``orchard.params.save_version``) and the bundle's key
        (``"weather"``, ``"growth.valencia"``, ``"black_spot"``, ``"soil.water_balance"``, …).
    package : str
        The package that reads the set (``"growth"``, ``"pests"``, …).
    shipped : callable
        ``shipped() -> ParameterSet``: the set as shipped with the code, named ``name``.
    check : callable, optional
        ``check(pset)`` raises :class:`~orchard.errors.ParameterError` (one sentence naming the set and the
        keys) when the set is inconsistent in a way per-entry ranges cannot express (a minimum above its
        maximum, class bounds not increasing, Tmin >= Tmax, …); None when there is no such rule.
    used_by : {"weekly", "accounting", "cycle", "none"}
        Who reads the latest stored version: the weekly run, the season account, the daily cycle (when to
        run the chain outside its week), or nobody yet.
    kind : {"core", "cultivar", "pest", "soil", "monitoring", "advice"}
    code : str, optional
        Cultivar or pest code, or the short name of the set inside its package.
    """

    name: str
    package: str
    shipped: Callable[[], ParameterSet]
    check: Callable[[ParameterSet], None] | None = None
    used_by: str = "weekly"
    kind: str = field(kw_only=True)
    code: str | None = None

    def __post_init__(self):
        if not self.name or DISTRICT_SEPARATOR in self.name:
            raise ParameterError(f"parameter set name {self.name!r} (package {self.package}) must be "
                                 f"non-empty and hold no '{DISTRICT_SEPARATOR}'; rename it in the package's "
                                 "declarations.")
        if self.kind not in KINDS:
            raise ParameterError(f"parameter set '{self.name}' has kind '{self.kind}'; use one of "
                                 f"{', '.join(KINDS)}.")
        if self.used_by not in USED_BY:
            raise ParameterError(f"parameter set '{self.name}' has used_by '{self.used_by}'; use one of "
                                 f"{', '.join(USED_BY)}.")

    def load_shipped(self) -> ParameterSet:
        """:attr:`shipped` called and named as declared (the name versions are stored under)."""
        pset = self.shipped()
        if pset.name != self.name:
            pset = ParameterSet(self.name, pset.entries, source_path=pset.source_path, version=pset.version)
        return pset

    def run_check(self, pset: ParameterSet, key: str | None = None) -> None:
        """Run :attr:`check` on ``pset``; the error names the set (``key``, else the set's name)."""
        if self.check is None:
            return
        label = key or pset.name
        try:
            self.check(pset)
        except ParameterError as exc:
            text = str(exc)
            if f"'{label}'" in text or f"'{pset.name}'" in text:
                raise
            raise ParameterError(f"parameter set '{label}': {text}") from None


# ----------------------------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------------------------
def _check_weather(p: ParameterSet) -> None:
    """Ångström: a_s + b_s is the clear-sky share of extraterrestrial radiation, so it cannot exceed 1."""
    a, b = float(p["radiation.angstrom_a"]), float(p["radiation.angstrom_b"])
    if a + b > 1.0:
        raise ParameterError(
            f"parameter set '{p.name}': radiation.angstrom_a + radiation.angstrom_b = {a + b:g} is above 1 "
            "(more radiation than reaches the top of the atmosphere); lower one of them."
        )


def core_declarations() -> list[SetDeclaration]:
    """The orchard core's own set: ``weather`` (lapse rate, Ångström coefficients, gap filling, terrain)."""
    return [SetDeclaration(name="weather", package="orchard", shipped=params.core_parameters,
                           check=_check_weather, used_by="weekly", kind="core")]


@functools.cache
def _registry() -> Mapping[str, SetDeclaration]:
    found: dict[str, SetDeclaration] = {}
    points = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    if not points:
        raise ParameterError(
            f"no parameter sets are declared (entry-point group '{ENTRY_POINT_GROUP}' is empty); reinstall "
            "the toolkit with `pip install -e .` so its entry points are registered."
        )
    for point in points:
        try:
            provider = point.load()
            declarations = list(provider())
        except ParameterError:
            raise
        except Exception as exc:  # a broken package must not hide behind a traceback in the app
            raise ParameterError(f"the parameter-set declarations '{point.value}' (entry point "
                                 f"'{point.name}') could not be loaded: {exc}; fix or reinstall that "
                                 "package.") from exc
        for decl in declarations:
            if not isinstance(decl, SetDeclaration):
                raise ParameterError(f"'{point.value}' returned {type(decl).__name__}, not a SetDeclaration; "
                                     "fix that package's declarations.")
            if decl.name in found:
                raise ParameterError(f"parameter set '{decl.name}' is declared twice (packages "
                                     f"{found[decl.name].package} and {decl.package}); rename one.")
            found[decl.name] = decl
    order = {kind: i for i, kind in enumerate(KINDS)}
    ranked = sorted(enumerate(found.values()), key=lambda item: (order[item[1].kind], item[0]))
    return MappingProxyType({decl.name: decl for _, decl in ranked})


def declared_sets() -> dict[str, SetDeclaration]:
    """Every declared parameter set, name -> declaration, by kind (core, cultivar, pest, soil, monitoring,
    advice) then in each package's order. Read once per process from the entry points."""
    return dict(_registry())


def _declaration(name: str) -> SetDeclaration:
    """The declaration of ``name`` or of the set a district variant ``name@district`` belongs to."""
    base = name.split(DISTRICT_SEPARATOR, 1)[0]
    registry = _registry()
    if base not in registry:
        hint = params._suggest(base, registry)
        raise ParameterError(f"unknown parameter set '{name}'"
                             + (hint if hint else f"; declared sets are {', '.join(registry)}."))
    return registry[base]


def _split(key: str) -> tuple[str, str | None]:
    base, _, district = key.partition(DISTRICT_SEPARATOR)
    return base, (district or None)


# ----------------------------------------------------------------------------------------------------------
# The bundle
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ParameterBundle(Mapping[str, ParameterSet]):
    """The parameter sets one run uses: a read-only mapping name -> :class:`~orchard.params.ParameterSet`.

    Keys are the declared set names plus every stored district variant ``<name>@<district>``. When the
    bundle was resolved for a ``district``, a set with a variant for that district holds the variant under
    its plain name too (and :meth:`get_for` still gives the belt-wide set for another district).

    Build one with :func:`resolve` or :func:`shipped_bundle`.
    """

    sets: Mapping[str, ParameterSet]
    district: str | None = None
    #: the belt-wide sets a district variant replaced under their plain name (for :meth:`get_for`)
    belt_wide: Mapping[str, ParameterSet] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "sets", MappingProxyType(dict(self.sets)))
        object.__setattr__(self, "belt_wide", MappingProxyType(dict(self.belt_wide)))

    # -- Mapping protocol -----------------------------------------------------------------------------
    def __getitem__(self, name: str) -> ParameterSet:
        try:
            return self.sets[name]
        except KeyError:
            hint = params._suggest(name, self.sets)
            raise KeyError(f"the parameter bundle has no set '{name}'"
                           + (hint if hint else "; is it declared?")) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.sets)

    def __len__(self) -> int:
        return len(self.sets)

    def __contains__(self, name: object) -> bool:
        return name in self.sets

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterBundle):
            return NotImplemented
        return self.district == other.district and self.hash == other.hash

    def __hash__(self) -> int:
        return hash((self.district, self.hash))

    def __repr__(self) -> str:
        return f"ParameterBundle(n={len(self)}, district={self.district!r}, hash={self.hash[:12]!r})"

    def __reduce__(self):
        # plain dicts for pickling (a run's bundle travels to worker processes); frozen again on arrival
        return (ParameterBundle, (dict(self.sets), self.district, dict(self.belt_wide)))

    # -- lookups --------------------------------------------------------------------------------------
    def get_for(self, name: str, district: str | None = None) -> ParameterSet:
        """The set ``name`` for ``district``: its district variant when the bundle holds one, else the
        belt-wide set. Without ``district``, the set under ``name`` (the bundle's own district's variant when
        it was resolved for a district)."""
        if district is None or district == self.district:
            return self[name]
        variant = f"{name}{DISTRICT_SEPARATOR}{district}"
        if variant in self.sets:
            return self.sets[variant]
        if name in self.belt_wide:
            return self.belt_wide[name]
        return self[name]

    def versions(self) -> dict[str, dict]:
        """For every set, ``{"version": stored version number (0 = shipped), "hash": its hash}``."""
        return {name: {"version": int(pset.version or 0), "hash": pset.hash}
                for name, pset in self.sets.items()}

    @property
    def hash(self) -> str:
        """SHA-1 (hex) over the sorted (name, set hash) pairs: one fingerprint of every value in it."""
        digest = hashlib.sha1()
        for name, pset in sorted(self.sets.items()):
            digest.update(f"{name}\x1f{pset.hash}\x1e".encode())
        return digest.hexdigest()

    def check(self) -> None:
        """Run every declared set's consistency check; the first failure is a ParameterError naming it."""
        for name, pset in self.sets.items():
            _declaration(name).run_check(pset, key=name)


def _stored_names(session) -> list[str]:
    from sqlalchemy import select

    from orchard.store import ParameterVersion

    return list(session.scalars(select(ParameterVersion.name).distinct()).all())


def _check_override(key: str, pset: object, base: ParameterSet) -> ParameterSet:
    if not isinstance(pset, ParameterSet):
        raise ParameterError(f"override for parameter set '{key}' is a {type(pset).__name__}; give a "
                             "ParameterSet (e.g. the set in force .with_overrides({...})).")
    missing = [k for k in base.entries if k not in pset.entries]
    unknown = [k for k in pset.entries if k not in base.entries]
    if missing or unknown:
        what = f"lacks '{missing[0]}'" if missing else f"has an unknown parameter '{unknown[0]}'"
        raise ParameterError(f"override for parameter set '{key}' {what}; start from the set in force and "
                             "change values with .with_overrides().")
    for k, entry in base.entries.items():
        if pset.entries[k].unit != entry.unit:
            raise ParameterError(f"override for parameter set '{key}': {k} is in '{pset.entries[k].unit}' "
                                 f"but the set uses '{entry.unit}'; convert the value.")
    return pset


def _assemble(sets: dict[str, ParameterSet], district: str | None,
              overrides: Mapping[str, ParameterSet] | None) -> ParameterBundle:
    belt_wide: dict[str, ParameterSet] = {}
    if district:
        for name in [n for n in sets if DISTRICT_SEPARATOR not in n]:
            variant = sets.get(f"{name}{DISTRICT_SEPARATOR}{district}")
            if variant is not None:
                belt_wide[name] = sets[name]
                sets[name] = variant
    for key, pset in (overrides or {}).items():
        key = str(key)
        decl = _declaration(key)
        base = sets[key] if key in sets else _shipped_sets()[decl.name]
        sets[key] = _check_override(key, pset, base)
    bundle = ParameterBundle(sets, district=district or None, belt_wide=belt_wide)
    bundle.check()
    return bundle


def resolve(session, district: str | None = None, *,
            overrides: Mapping[str, ParameterSet] | None = None) -> ParameterBundle:
    """The parameter sets in force for one run, as one frozen, checked bundle.

    Parameters
    ----------
    session : sqlalchemy.orm.Session or None
        Read once here: for every declared set the latest stored version over the shipped file
        (:func:`orchard.params.in_force`), and every stored district variant ``<name>@<district>``. None
        gives the shipped sets (as :func:`shipped_bundle`).
    district : str, optional
        The run's district: for each set, its stored variant for that district replaces the belt-wide set
        under the plain name.
    overrides : mapping name -> ParameterSet, optional
        What-if sets replacing those in force (same keys and units as the declared set); a key may name a
        district variant.

    Returns
    -------
    ParameterBundle

    Raises
    ------
    orchard.errors.ParameterError
        A stored version that no longer fits its shipped set (a renamed or re-ranged parameter), an unknown
        override name, or a set failing its consistency check; the sentence names the set.
    """
    sets: dict[str, ParameterSet] = {}
    registry = _registry()
    shipped = _shipped_sets()
    for name in registry:
        sets[name] = params.in_force(session, shipped[name])
    if session is not None:
        for stored in sorted(_stored_names(session)):
            base, variant_district = _split(stored)
            if variant_district is None or base not in registry:
                continue
            named = ParameterSet(stored, shipped[base].entries, source_path=shipped[base].source_path)
            sets[stored] = params.in_force(session, named)
    return _assemble(sets, district, overrides)


@functools.cache
def _shipped_sets() -> Mapping[str, ParameterSet]:
    return MappingProxyType({name: decl.load_shipped() for name, decl in _registry().items()})


def shipped_bundle(district: str | None = None, *,
                   overrides: Mapping[str, ParameterSet] | None = None) -> ParameterBundle:
    """Every declared set as shipped (no database), checked: for tests, tools and what-if runs."""
    return _assemble(dict(_shipped_sets()), district, overrides)
