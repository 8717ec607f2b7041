"""Parameter sets: TOML files where every value carries its unit, valid range, description and source.

A parameter file is a tree of TOML tables; a *parameter entry* is a leaf table with exactly the fields
``value``, ``unit``, ``min``, ``max``, ``description``, ``source`` and, optionally, ``assumption`` (true while
the value awaits local calibration) and ``note``::

    [phenology.base_temperature]
    value = 13.0
    unit = "degC"
    min = 10.0
    max = 15.0
    description = "Base temperature for citrus thermal time"
    source = "Abdel-Sattar et al. 2024, Horticulturae 10(7):712; NSW DPI Primefact 749"
    assumption = false

``value`` is a number or a list of numbers (e.g. a monthly table; every element is range-checked). Loading is
strict, as peer crop models taught (PCSE pins schemas and refuses unknown names; WOFOST parameters silently
unused on a name mismatch were a long-standing pain): unknown or missing names, out-of-range values and wrong
units are :class:`~orchard.errors.ParameterError` naming the file and the key. Units are compared as text;
nothing is converted.

Agronomists' edits are stored as numbered versions in the database (:func:`save_version`,
:func:`load_version`, :func:`list_versions`); every result records :attr:`ParameterSet.hash`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tomli_w

from orchard.errors import AccessError, ParameterError, check_input_file

__all__ = [
    "Parameter",
    "ParameterSet",
    "VersionRecord",
    "core_parameters",
    "diff",
    "list_versions",
    "load_parameters",
    "load_version",
    "save_version",
]

#: Fields every parameter entry must have.
REQUIRED_FIELDS = ("value", "unit", "min", "max", "description", "source")
#: Fields a parameter entry may have in addition.
OPTIONAL_FIELDS = ("assumption", "note")
ENTRY_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
_FIELD_LIST = "value, unit, min, max, description, source, assumption and note"

#: The orchard core's own parameter file (lapse rate, Angström coefficients, gap filling, terrain, wind).
CORE_PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "weather.toml"

#: Roles that may save a new parameter-set version.
PARAMETER_EDITOR_ROLES = ("agronomist", "admin")

Number = int | float
Value = Number | tuple[Number, ...]


@dataclass(frozen=True)
class Parameter:
    """One parameter entry: a value with its unit, valid range [min, max], description and source."""

    value: Value
    unit: str
    min: Number
    max: Number
    description: str
    source: str
    assumption: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as a plain dict in file order (lists for list values; ``note`` only when set)."""
        out: dict[str, Any] = {
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "unit": self.unit,
            "min": self.min,
            "max": self.max,
            "description": self.description,
            "source": self.source,
            "assumption": self.assumption,
        }
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a parameter set, as listed by :func:`list_versions`."""

    version: int
    hash: str
    author: str
    created_utc: datetime
    n_changes: int
    comment: str


def _fmt(x: Number) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def _maybe(word: str, choices) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _suggest(word: str, choices, n: int = 3) -> str:
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def _is_number(x: Any) -> bool:
    # TOML booleans are Python ints: refuse them explicitly.
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _hash_value(v: Value) -> float | list[float]:
    # 13 and 13.0 are the same parameter value: hash them identically.
    return [float(x) for x in v] if isinstance(v, tuple) else float(v)


class ParameterSet(Mapping):
    """A validated, read-only set of parameters addressed by dotted keys (``"phenology.base_temperature"``).

    ``ps[key]`` gives the value, :meth:`entry` the whole :class:`Parameter`. Build one with
    :func:`load_parameters`, :meth:`with_overrides` or :func:`load_version`, not by hand.

    Attributes
    ----------
    name : str
        Name of the set (the file stem unless given), under which versions are stored.
    entries : Mapping[str, Parameter]
        Read-only mapping dotted key -> entry, in file order.
    source_path : pathlib.Path or None
        The file it was read from (None for overridden or database-loaded sets).
    version : int or None
        The database version it was loaded from, if any.
    hash : str
        First 12 hex digits of the SHA-256 of the canonical JSON of ``{key: {value, unit}}``; results record
        it so a number can be traced to the exact parameter values that produced it.
    """

    def __init__(self, name: str, entries: Mapping[str, Parameter], source_path: Path | None = None,
                 version: int | None = None):
        self._name = str(name)
        self._entries = MappingProxyType(dict(entries))
        self._source_path = Path(source_path) if source_path is not None else None
        self._version = version
        canonical = json.dumps(
            {k: {"value": _hash_value(p.value), "unit": p.unit} for k, p in self._entries.items()},
            sort_keys=True, separators=(",", ":"), ensure_ascii=True,
        )
        self._hash = hashlib.sha256(canonical.encode("ascii")).hexdigest()[:12]

    def __reduce__(self):
        # plain dict for pickling (sets travel to worker processes with a run's bundle)
        return (ParameterSet, (self._name, dict(self._entries), self._source_path, self._version))

    # -- read-only attributes -------------------------------------------------------------------------
    name = property(lambda self: self._name)
    entries = property(lambda self: self._entries)
    source_path = property(lambda self: self._source_path)
    version = property(lambda self: self._version)
    hash = property(lambda self: self._hash)

    # -- Mapping protocol -----------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Value:
        return self.entry(key).value

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ParameterSet(name={self._name!r}, n={len(self)}, hash={self._hash!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterSet):
            return NotImplemented
        return self._name == other._name and dict(self._entries) == dict(other._entries)

    __hash__ = None  # type: ignore[assignment]  # use .hash, the hash of the values

    def entry(self, key: str) -> Parameter:
        """The full entry for ``key``; an unknown key is a ParameterError suggesting close names."""
        try:
            return self._entries[key]
        except KeyError:
            hint = _suggest(key, self._entries)
            raise ParameterError(
                f"parameter set '{self._name}' has no parameter '{key}'" + (hint or "; check the name.")
            ) from None

    def values(self) -> dict[str, Value]:  # type: ignore[override]
        """Dict dotted key -> value."""
        return {k: p.value for k, p in self._entries.items()}

    # -- output ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Nested dict of tables, as written to TOML."""
        tree: dict[str, Any] = {}
        for key, p in self._entries.items():
            node = tree
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = p.as_dict()
        return tree

    def to_toml(self) -> str:
        """The set as TOML text that :func:`load_parameters` reads back to an equal set."""
        return tomli_w.dumps(self.to_dict())

    def write(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_toml` to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.to_toml(), encoding="utf-8")
        return path

    def to_frame(self):
        """A pandas DataFrame, one row per parameter: key, value, unit, min, max, description, source,
        assumption, note (list values stay lists)."""
        import pandas as pd

        rows = [{"key": k, **p.as_dict()} for k, p in self._entries.items()]
        columns = ["key", "value", "unit", "min", "max", "description", "source", "assumption", "note"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["value"] = frame["value"].astype(object)
        frame["note"] = pd.Series([p.note for p in self._entries.values()], index=frame.index, dtype=object)
        return frame

    def content(self) -> dict[str, Any]:
        """JSON-ready content: ``{"name": ..., "entries": {key: entry dict}}`` (stored with each version)."""
        return {"name": self._name, "entries": {k: p.as_dict() for k, p in self._entries.items()}}

    # -- overrides ------------------------------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any] | str | os.PathLike) -> ParameterSet:
        """A new set with some values replaced (a new :attr:`hash`); this set is unchanged.

        Parameters
        ----------
        overrides : dict or path
            Either a dict ``{dotted key: value}`` where value is a number, a list of numbers, or a dict of
            entry fields (``{"value": 12.5, "source": "local trial 2025"}``); or the path of a TOML file
            holding plain values (``[phenology]`` / ``base_temperature = 12.5``) or entry tables
            (``[phenology.base_temperature]`` / ``value = 12.5`` / ``source = "..."``).

        Rules: an unknown key is an error suggesting close names; a new value must lie in the entry's
        [min, max] and keep its shape (number or list of the same length); a ``unit`` given must equal the
        entry's (no conversion); ``min``/``max`` given must equal the entry's (ranges are edited in the
        parameter file, with a source, not by override). ``description``, ``source``, ``assumption`` and
        ``note`` may be replaced.
        """
        if isinstance(overrides, (str, os.PathLike)):
            where = str(overrides)
            flat = _flatten_overrides(where, _read_toml(overrides, what="parameter override file"))
        elif isinstance(overrides, Mapping):
            where = "overrides"
            flat = {}
            for key, item in overrides.items():
                flat[str(key)] = dict(item) if isinstance(item, Mapping) else {"value": item}
        else:
            raise ParameterError(
                f"overrides must be a dict of key -> value or the path of a TOML file, not "
                f"{type(overrides).__name__}; pass one of those."
            )
        new = dict(self._entries)
        for key, fields in flat.items():
            if key not in self._entries:
                hint = _suggest(key, self._entries)
                raise ParameterError(
                    f"{where}: unknown parameter '{key}' (not in parameter set '{self._name}')"
                    + (hint if hint else "; check the name.")
                )
            base = self._entries[key]
            unknown = [f for f in fields if f not in ENTRY_FIELDS]
            if unknown:
                raise ParameterError(
                    f"{where}: parameter '{key}' has an unknown field '{unknown[0]}'"
                    f"{_maybe(unknown[0], ENTRY_FIELDS)}; allowed fields are {_FIELD_LIST}."
                )
            if "unit" in fields and str(fields["unit"]).strip() != base.unit:
                raise ParameterError(
                    f"{where}: {key} is given in '{fields['unit']}' but the parameter is in '{base.unit}'; "
                    f"convert the value to {base.unit}."
                )
            for bound in ("min", "max"):
                if bound in fields and fields[bound] != getattr(base, bound):
                    raise ParameterError(
                        f"{where}: {key} override changes '{bound}' from {_fmt(getattr(base, bound))} to "
                        f"{fields[bound]!r}; ranges are changed in the parameter file with a source, "
                        "not by override."
                    )
            merged = base.as_dict()
            merged.update(fields)
            merged["unit"] = base.unit
            entry = _parse_entry(where, key, merged)
            if isinstance(base.value, tuple) != isinstance(entry.value, tuple) or (
                isinstance(base.value, tuple) and len(base.value) != len(entry.value)
            ):
                shape = (f"a list of {len(base.value)} numbers" if isinstance(base.value, tuple)
                         else "a number")
                raise ParameterError(f"{where}: {key} must be {shape}, like the parameter it overrides.")
            new[key] = entry
        return ParameterSet(self._name, new, source_path=None, version=None)


# ----------------------------------------------------------------------------------------------------------
# Reading and validation
# ----------------------------------------------------------------------------------------------------------
def _read_toml(path: str | os.PathLike, what: str) -> dict[str, Any]:
    path = check_input_file(path, what=what)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8."
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message ends with "(at line L, column C)".
        raise ParameterError(f"{path}: TOML syntax error: {exc}; fix the file at that line.") from None


def _check_number(where: str, key: str, field: str, x: Any) -> Number:
    if not _is_number(x):
        raise ParameterError(
            f"{where}: {key} {field} {x!r} is not a number; give a number"
            + (" (or a list of numbers)." if field == "value" else ".")
        )
    if not math.isfinite(x):
        raise ParameterError(f"{where}: {key} {field} is {x!r}; give a finite number.")
    return x


def _check_text(where: str, key: str, field: str, x: Any, hint: str) -> str:
    if not isinstance(x, str):
        raise ParameterError(f"{where}: {key} {field} must be text in quotes, not {x!r}.")
    if not x.strip():
        raise ParameterError(f"{where}: {key} has an empty {field}; give {hint}.")
    return x.strip()


def _parse_entry(where: str, key: str, table: Mapping[str, Any]) -> Parameter:
    """Validate one entry table and return it as a Parameter (errors name ``where`` and ``key``)."""
    for field in table:
        if field not in ENTRY_FIELDS:
            raise ParameterError(
                f"{where}: parameter '{key}' has an unknown field '{field}'{_maybe(field, ENTRY_FIELDS)}; "
                f"allowed fields are {_FIELD_LIST}."
            )
    for field in REQUIRED_FIELDS:
        if field not in table:
            raise ParameterError(
                f"{where}: parameter '{key}' has no '{field}' field; every entry needs value, unit, min, "
                "max, description and source."
            )
    unit = _check_text(where, key, "unit", table["unit"], 'the unit (use "1" for dimensionless)')
    description = _check_text(where, key, "description", table["description"], "what the parameter means")
    source = _check_text(where, key, "source", table["source"], "where the value comes from")
    lo = _check_number(where, key, "min", table["min"])
    hi = _check_number(where, key, "max", table["max"])
    if lo > hi:
        raise ParameterError(f"{where}: {key} has min {_fmt(lo)} greater than max {_fmt(hi)}; swap them.")
    raw = table["value"]
    if isinstance(raw, (list, tuple)):  # a tuple: a value read back from a loaded set
        if not raw:
            raise ParameterError(f"{where}: {key} value is an empty list; give at least one number.")
        items = [_check_number(where, f"{key}[{i}]", "value", x) for i, x in enumerate(raw)]
        value: Value = tuple(items)
        labelled = [(f"{key}[{i}]", x) for i, x in enumerate(items)]
    else:
        value = _check_number(where, key, "value", raw)
        labelled = [(key, value)]
    for label, x in labelled:
        if not lo <= x <= hi:
            raise ParameterError(
                f"{where}: {label} = {_fmt(x)} {unit} is outside its range {_fmt(lo)}–{_fmt(hi)} {unit}; "
                "correct the value (or the range, with a source)."
            )
    assumption = table.get("assumption", False)
    if not isinstance(assumption, bool):
        raise ParameterError(f"{where}: {key} assumption must be true or false, not {assumption!r}.")
    note = table.get("note")
    if note is not None and not isinstance(note, str):
        raise ParameterError(f"{where}: {key} note must be text in quotes, not {note!r}.")
    return Parameter(value=value, unit=unit, min=lo, max=hi, description=description, source=source,
                     assumption=assumption, note=note)


def _flatten_entries(where: str, tree: Mapping[str, Any], prefix: str = "") -> dict[str, dict]:
    """Dotted key -> entry table. A table holding any non-table item is an entry; others are groups."""
    out: dict[str, dict] = {}
    for name, item in tree.items():
        if "." in name:
            raise ParameterError(f"{where}: key '{name}' contains a dot inside quotes; use nested tables.")
        key = f"{prefix}{name}"
        if not isinstance(item, dict):
            raise ParameterError(
                f"{where}: '{key}' is a bare value; a parameter must be a table with value, unit, min, max, "
                "description and source."
            )
        if any(not isinstance(v, dict) for v in item.values()):
            out[key] = item
        else:
            out.update(_flatten_entries(where, item, prefix=f"{key}."))
    return out


def _flatten_overrides(where: str, tree: Mapping[str, Any], prefix: str = "") -> dict[str, dict]:
    """Dotted key -> dict of fields. A table with a ``value`` field is an entry; scalars/lists are values."""
    out: dict[str, dict] = {}
    for name, item in tree.items():
        key = f"{prefix}{name}"
        if isinstance(item, dict):
            if "value" in item:
                out[key] = dict(item)
            else:
                out.update(_flatten_overrides(where, item, prefix=f"{key}."))
        else:
            out[key] = {"value": item}
    if not out and not prefix:
        raise ParameterError(f"{where}: the override file sets no parameter; add at least one value.")
    return out


def _build(where: str, name: str, flat: Mapping[str, Mapping[str, Any]], schema: ParameterSet | None,
           source_path: Path | None = None, version: int | None = None) -> ParameterSet:
    if not flat:
        raise ParameterError(f"{where}: holds no parameter entries; add at least one [group.name] table.")
    entries = {key: _parse_entry(where, key, table) for key, table in flat.items()}
    if schema is not None:
        unknown = [k for k in entries if k not in schema.entries]
        if unknown:
            hint = _suggest(unknown[0], schema.entries)
            raise ParameterError(
                f"{where}: unknown parameter '{unknown[0]}' (not in the '{schema.name}' schema)"
                + (hint if hint else "; remove it or fix the name.")
            )
        missing = [k for k in schema.entries if k not in entries]
        if missing:
            more = f" (and {len(missing) - 1} more: {', '.join(missing[1:4])}" + (", …)" if len(missing) > 4
                                                                                   else ")")
            raise ParameterError(
                f"{where}: parameter '{missing[0]}' is missing{more if len(missing) > 1 else ''}; "
                f"the '{schema.name}' schema requires it, so add it."
            )
        for key, p in entries.items():
            expected = schema.entries[key].unit
            if p.unit != expected:
                raise ParameterError(
                    f"{where}: {key} is in '{p.unit}' but the '{schema.name}' schema expects '{expected}'; "
                    f"convert the value to {expected}."
                )
    return ParameterSet(name, entries, source_path=source_path, version=version)


def load_parameters(path: str | os.PathLike, *, schema: ParameterSet | None = None,
                    name: str | None = None) -> ParameterSet:
    """Read and strictly validate a TOML parameter file.

    Parameters
    ----------
    path : path-like
        The TOML file (UTF-8).
    schema : ParameterSet, optional
        The reference set (usually the shipped defaults). When given, the file must hold exactly the
        schema's keys, each in the schema's unit.
    name : str, optional
        Name of the set; default the file stem (``weather.toml`` -> ``"weather"``).

    Returns
    -------
    ParameterSet

    Raises
    ------
    orchard.errors.InputError
        Missing, empty or oversized file (from :func:`orchard.errors.check_input_file`).
    orchard.errors.ParameterError
        TOML syntax error (with its line), an entry missing a field or holding an unknown one, a non-numeric
        value, min > max, a value outside [min, max], an empty unit/description/source; with a schema also
        unknown keys, missing keys and unit mismatches. The message names the file and the key.
    """
    tree = _read_toml(path, what="parameter file")
    where = str(path)
    flat = _flatten_entries(where, tree)
    return _build(where, name or Path(path).stem, flat, schema, source_path=Path(path))


def core_parameters() -> ParameterSet:
    """The orchard core's own parameter set (``orchard/parameters/weather.toml``)."""
    return load_parameters(CORE_PARAMETER_FILE)


def current_core_parameters(session) -> ParameterSet:
    """The core set in force: the latest version agronomists stored, else the shipped file's values.

    A stored version is checked against the shipped file (same keys and units), so a release that adds or
    renames a parameter fails loudly instead of running on a stale set.
    """
    return in_force(session, core_parameters())


#: Stored name of a district's own version of a set: ``<name>@<district>`` (e.g. ``growth.valencia@奉节``).
DISTRICT_SEPARATOR = "@"


def in_force(session, shipped: ParameterSet) -> ParameterSet:
    """``shipped`` with the values of the latest version stored under its name, if any (else ``shipped``).

    Every module's loader goes through this, so a version saved by an agronomist (app or CLI) is what the
    next run uses. With ``session`` None the shipped set is returned.
    """
    if session is None or not list_versions(session, shipped.name):
        return shipped
    stored = load_version(session, shipped.name)
    merged = shipped.with_overrides(stored.values())
    # keep the version number, so results record "name vN hash" of what they ran on
    return ParameterSet(shipped.name, merged.entries, source_path=shipped.source_path, version=stored.version)


def diff(old: ParameterSet, new: ParameterSet) -> list[tuple[str, Value | None, Value | None]]:
    """Value differences between two sets, sorted by key.

    Returns
    -------
    list of (key, old_value, new_value)
        ``old_value`` is None for a key only in ``new``, ``new_value`` None for a key only in ``old``.
    """
    out = []
    for key in sorted(set(old.entries) | set(new.entries)):
        a = old.entries[key].value if key in old.entries else None
        b = new.entries[key].value if key in new.entries else None
        if a is None or b is None or _hash_value(a) != _hash_value(b):
            out.append((key, a, b))
    return out


def _field_changes(old: Mapping[str, dict], new: Mapping[str, dict]) -> list[dict[str, Any]]:
    """Field-level changes between two ``content()["entries"]`` dicts, as JSON-ready records."""
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append({"key": key, "field": "entry", "old": None, "new": new[key]})
        elif key not in new:
            changes.append({"key": key, "field": "entry", "old": old[key], "new": None})
        else:
            for field in ENTRY_FIELDS:
                a, b = old[key].get(field), new[key].get(field)
                if a != b:
                    changes.append({"key": key, "field": field, "old": a, "new": b})
    return changes


# ----------------------------------------------------------------------------------------------------------
# Versions in the database (table ``parameter_versions``, see orchard.store)
# ----------------------------------------------------------------------------------------------------------
def save_version(session, params: ParameterSet, *, author: str, comment: str = "") -> int:
    """Store ``params`` as the next version of its name and return the version number.

    Stores name, version, hash, author, time (UTC), the full content and the field-level changes against
    the previous version of the same name (``[{"key", "field", "old", "new"}, ...]``; empty for version 1).
    If the content equals the latest stored version's, nothing is written and that version is returned
    (saving back an *older* content creates a new version: a revert is a change worth logging).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Inside :func:`orchard.store.session_scope`; the caller's transaction commits it.
    params : ParameterSet
    author : str
        user_id of an existing user with role agronomist or admin.
    comment : str
        Why the change was made.

    Raises
    ------
    orchard.errors.AccessError
        Unknown author, or a role that may not edit parameters (grower, extension).
    """
    from sqlalchemy import select

    from orchard.store import ParameterVersion, User

    user = session.get(User, author)
    if user is None:
        raise AccessError(f"unknown user '{author}'; parameter versions must name an existing author.")
    if user.role not in PARAMETER_EDITOR_ROLES:
        raise AccessError(
            f"user '{author}' is a {user.role}; only agronomists and admins may save parameter versions."
        )
    content = params.content()
    latest = session.scalars(
        select(ParameterVersion).where(ParameterVersion.name == params.name)
        .order_by(ParameterVersion.version.desc()).limit(1)
    ).first()
    if latest is not None and latest.hash == params.hash and latest.content == content:
        return latest.version
    changes = _field_changes(latest.content["entries"], content["entries"]) if latest is not None else []
    number = 1 if latest is None else latest.version + 1
    session.add(ParameterVersion(
        name=params.name, version=number, hash=params.hash, author_id=author,
        created_utc=datetime.now(timezone.utc), content=content, changes=changes, comment=comment or "",
    ))
    session.flush()
    return number


def load_version(session, name: str, version: int | None = None) -> ParameterSet:
    """The stored parameter set ``name`` at ``version`` (the latest when None), validated again."""
    from sqlalchemy import select

    from orchard.store import ParameterVersion

    query = select(ParameterVersion).where(ParameterVersion.name == name)
    if version is None:
        query = query.order_by(ParameterVersion.version.desc()).limit(1)
    else:
        query = query.where(ParameterVersion.version == int(version))
    row = session.scalars(query).first()
    if row is None:
        what = f"version {version} of parameter set '{name}'" if version is not None \
            else f"parameter set '{name}'"
        raise ParameterError(f"{what} is not in the database; list the stored versions with list_versions().")
    where = f"parameter set '{name}' version {row.version}"
    return _build(where, name, row.content["entries"], schema=None, version=row.version)


def list_versions(session, name: str) -> list[VersionRecord]:
    """Stored versions of parameter set ``name``, oldest first."""
    from sqlalchemy import select

    from orchard.store import ParameterVersion

    rows = session.scalars(
        select(ParameterVersion).where(ParameterVersion.name == name).order_by(ParameterVersion.version)
    ).all()
    return [VersionRecord(version=r.version, hash=r.hash, author=r.author_id, created_utc=r.created_utc,
                          n_changes=len(r.changes or []), comment=r.comment or "") for r in rows]
