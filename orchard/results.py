"""Stored runs of the weekly chain: written whole or not at all, and the faces' one reader.

A run is a row in ``advice_runs`` (date, parameter bundle, data sources, steps), its recommendations, one
``plot_status`` row per plot (the numbers every face shows) and a folder ``ORCHARD_HOME/results/<run_id>/``
with the module outputs as NetCDF, one file per module and chunk of plots (``growth-00000.nc``,
``pests-00000.nc`` …), each with provenance attrs (run, issue date, parameter bundle, sources).

Writing (:class:`RunWriter`): files go to a hidden ``.<run_id>.partial`` folder; the database rows are
inserted in one transaction, the folder is moved into place just before that transaction commits, and any
failure removes the partial folder and rolls the rows back, so a reader never sees half a run. A re-run with
the same id replaces the old run only once the new one is complete.

Reading: :func:`latest_run`, :func:`plot_status`, :func:`status_table` and :func:`module_output` are all a
page, the CLI or an export need; they scope access through :mod:`orchard.store` (a grower reads only their
own plots) and never run a model.
"""

from __future__ import annotations

import os
import pickle
import shutil
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import select

from orchard import config, store
from orchard.errors import InputError, StorageError

__all__ = ["RunWriter", "results_root", "latest_run", "get_run", "plot_status", "status_table",
           "module_output", "STATUS_FIELDS"]

#: Columns of a plot_status row besides its keys.
STATUS_FIELDS = tuple(c.name for c in store.PlotStatus.__table__.columns if c.name not in ("run_id",))

#: NetCDF compression of the module outputs (zlib level 1: most of the gain for little time).
_ENCODING = {"zlib": True, "complevel": 1}
#: One NetCDF file open at a time in this process: the HDF5 library under netCDF4 is not thread-safe, and a
#: web server reads from many threads at once (concurrent reads crashed the app with a segfault in libhdf5).
_NETCDF_LOCK = threading.Lock()


def results_root(home: str | os.PathLike | None = None) -> Path:
    """The folder holding every run's module outputs (``ORCHARD_HOME/results``)."""
    return Path(home) / "results" if home is not None else config.orchard_home() / "results"


def _chunk_file(folder: Path, module: str, chunk: int) -> Path:
    return folder / f"{module}-{int(chunk):05d}.nc"


class RunWriter:
    """Collects a run's module outputs in a partial folder, then stores the run whole (:meth:`commit`).

    Use as a context manager: leaving the block without :meth:`commit` (an exception) removes the partial
    folder, so nothing half-written stays behind.
    """

    def __init__(self, run_id: str, root: str | os.PathLike | None = None, *, attrs: Mapping | None = None):
        self.run_id = run_id
        self.root = Path(root) if root is not None else results_root()
        self.final = self.root / run_id
        self.partial = self.root / f".{run_id}.{uuid.uuid4().hex[:8]}.partial"
        self.attrs = {k: str(v) for k, v in (attrs or {}).items()}
        self.committed = False
        try:
            self.partial.mkdir(parents=True, exist_ok=False)
        except OSError as exc:
            raise StorageError(f"the results folder {self.root} cannot be written ({exc.strerror or exc}); "
                               "set ORCHARD_HOME to a writable folder.") from None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.committed:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)

    def write(self, module: str, chunk: int, ds: xr.Dataset) -> Path:
        """Write one module's output for one chunk of plots (NetCDF, compressed, float32 kept)."""
        path = _chunk_file(self.partial, module, chunk)
        ds = ds.copy()
        ds.attrs.update(self.attrs, module=module, chunk=int(chunk))
        encoding = {name: dict(_ENCODING) for name, var in ds.data_vars.items()
                    if var.dtype.kind in "fiub"}
        try:
            with _NETCDF_LOCK:
                ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
        except OSError as exc:
            raise StorageError(f"cannot write {path.name} in {self.partial.parent} "
                               f"({exc.strerror or exc}); free disk space or set ORCHARD_HOME.") from None
        return path

    def stash(self, chunk: int, status: pd.DataFrame, records: Sequence[Mapping[str, Any]]) -> None:
        """Keep a chunk's plot_status rows and recommendations on disk until :meth:`commit` (memory stays
        bounded by one chunk whatever the district size)."""
        path = self.partial / f".rows-{int(chunk):05d}.pkl"
        with open(path, "wb") as f:
            pickle.dump((status, list(records)), f, protocol=pickle.HIGHEST_PROTOCOL)

    def _stashes(self):
        for path in sorted(self.partial.glob(".rows-*.pkl")):
            with open(path, "rb") as f:
                yield pickle.load(f)
            path.unlink()

    def commit(self, session, run: Mapping[str, Any]) -> str:
        """Insert the run, its recommendations and its plot_status rows, move the folder into place.

        ``session`` must be a fresh :func:`orchard.store.session_scope` session: its transaction commits
        when the ``with`` block ends, after this returns; an exception there (or here) must reach the
        caller's ``with`` so the rows roll back, and :meth:`rollback_files` then takes the folder back out.
        """
        run = dict(run, results_path=str(self.final))
        store.store_advice_run(session, run, [])
        columns = [c.name for c in store.RecommendationRecord.__table__.columns if c.name != "id"]
        for status, records in self._stashes():
            # Core inserts (executemany): the ORM's bulk path costs a third more at 600,000 rows
            connection = session.connection()
            rows = _status_records(status, self.run_id)
            if rows:
                connection.execute(store.PlotStatus.__table__.insert(), rows)
            if records:
                for r in records:
                    r["run_id"] = self.run_id
                    if len(r) != len(columns):
                        r.update({k: r.get(k) for k in columns if k not in r})
                connection.execute(store.RecommendationRecord.__table__.insert(), records)
        session.flush()
        old = None
        if self.final.exists():  # a re-run of the same id: keep the old folder until the new one is in
            old = self.root / f".{self.run_id}.{uuid.uuid4().hex[:8]}.old"
            os.replace(self.final, old)
        try:
            os.replace(self.partial, self.final)
        except OSError as exc:
            if old is not None:
                os.replace(old, self.final)
            raise StorageError(f"cannot move the results of {self.run_id} into {self.root} "
                               f"({exc.strerror or exc}).") from None
        self.committed = True
        self._old = old
        return self.run_id

    def rollback_files(self) -> None:
        """After a failed database commit: take the new folder back out (restoring an older run's)."""
        if not self.committed:
            return
        shutil.rmtree(self.final, ignore_errors=True)
        if getattr(self, "_old", None) is not None:
            os.replace(self._old, self.final)
        self.committed = False

    def cleanup(self) -> None:
        """After a successful commit: remove a replaced run's folder."""
        if getattr(self, "_old", None) is not None:
            shutil.rmtree(self._old, ignore_errors=True)


def _plain(value):
    """A value as the database takes it: NaN/NaT -> None, numpy scalars -> Python, datetimes -> date."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).date()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _status_records(status: pd.DataFrame, run_id: str) -> list[dict]:
    if status is None or status.empty:
        return []
    unknown = sorted(set(status.columns) - set(STATUS_FIELDS))
    if unknown:
        raise StorageError(f"plot_status has no column {unknown[0]}; known: {', '.join(STATUS_FIELDS)}.")
    plain = {}
    for name in status.columns:  # column by column: the database's types, None for NaN/NaT
        column = status[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            values = [None if pd.isna(v) else v.date() for v in column]
        elif column.dtype.kind in "fiub":
            values = [None if isinstance(v, float) and not np.isfinite(v) else v for v in column.tolist()]
        else:
            values = [_plain(v) for v in column]
        plain[name] = values
    names = list(plain)
    return [{"run_id": run_id, **dict(zip(names, row, strict=True))}
            for row in zip(*plain.values(), strict=True)]


# ----------------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------------
def _run_dict(row: store.AdviceRun | None) -> dict | None:
    if row is None:
        return None
    return {c.name: getattr(row, c.name) for c in store.AdviceRun.__table__.columns}


def latest_run(session, *, on_or_before: date | None = None) -> dict | None:
    """The latest stored run (by issue date, then creation), optionally issued on or before a date."""
    query = select(store.AdviceRun)
    if on_or_before is not None:
        query = query.where(store.AdviceRun.issued_on <= on_or_before)
    row = session.scalars(query.order_by(store.AdviceRun.issued_on.desc(),
                                         store.AdviceRun.created_utc.desc()).limit(1)).first()
    return _run_dict(row)


def get_run(session, run_id: str) -> dict:
    row = session.get(store.AdviceRun, run_id)
    if row is None:
        raise InputError(f"there is no stored run '{run_id}'; list runs with `orchard runs`.")
    return _run_dict(row)


def _resolve_run(session, run_id: str | None) -> dict | None:
    return latest_run(session) if run_id is None else get_run(session, run_id)


def plot_status(session, caller: str, plot_id: str, run_id: str | None = None) -> dict | None:
    """The stored status of one plot in a run (default the latest), as the caller may read it; None when
    no run covers the plot. A plot the caller may not open raises :class:`orchard.errors.AccessError`."""
    user = store._caller(session, caller)
    store._readable_plot(session, user, plot_id)
    run = _resolve_run(session, run_id)
    if run is None:
        return None
    row = session.get(store.PlotStatus, (run["run_id"], plot_id))
    if row is None:
        return None
    out = {c.name: getattr(row, c.name) for c in store.PlotStatus.__table__.columns}
    out["run"] = run
    return out


def status_table(session, caller: str, run_id: str | None = None) -> pd.DataFrame:
    """Every plot_status row of a run the caller may read (a grower: own plots), one row per plot."""
    user = store._caller(session, caller)
    run = _resolve_run(session, run_id)
    columns = [c.name for c in store.PlotStatus.__table__.columns]
    if run is None:
        return pd.DataFrame(columns=columns)
    query = select(store.PlotStatus).where(store.PlotStatus.run_id == run["run_id"])
    if user.role == "grower":
        owned = select(store.Plot.plot_id).where(store.Plot.owner_id == user.user_id)
        query = query.where(store.PlotStatus.plot_id.in_(owned))
    rows = session.scalars(query.order_by(store.PlotStatus.plot_id))
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)


def module_output(status: Mapping[str, Any], module: str) -> xr.Dataset | None:
    """One module's stored output for the plot of a :func:`plot_status` row (loaded, file closed);
    None when the run did not store that module. Safe to call from several threads."""
    folder = status["run"].get("results_path")
    if not folder:
        return None
    path = _chunk_file(Path(folder), module, status["results_chunk"])
    if not path.exists():
        return None
    with _NETCDF_LOCK, xr.open_dataset(path, engine="netcdf4") as ds:
        if "plot" not in ds.dims or status["plot_id"] not in set(ds["plot"].values.astype(str)):
            return None
        return ds.sel(plot=status["plot_id"]).load()
