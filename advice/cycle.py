"""The daily cycle (``orchard cycle``, issue #20): fetch -> ingest -> run when due -> store -> notify.

One cycle per local date, run by the operator's scheduler (docs/operations.md)::

    lock       ORCHARD_HOME/cycle.lock (an OS file lock: a second cycle started meanwhile stops at once)
    fetch      Open-Meteo forecasts for every station, reanalysis for stations without observations
               (orchard/weather_fetch.py); offline: one log line and the cycle goes on with what is stored
    ingest     new sensor files of the watched folder (a file is new by its content, table ingested_files)
    run        the weekly chain when due: no run issued in ``weekly.days`` days, or a stored forecast of the
               date crosses a threshold (frost, heavy rain: advice/parameters/cycle.toml)
    store      the chain stores its run whole (advice/chain.py)
    notify     one message per grower and channel from the run's advice, queued in the outbox, then every
               queued message delivered (advice/notify.py)

Idempotent: a date whose cycle is done only retries the messages still queued, so running it twice changes
nothing and sends nothing twice; a cycle killed half-way, or whose due advice could not run (state
``failed``), is resumed by the next one for that date (the fetch skips what is stored, the chain's run is
stored whole or not at all, each message is queued once).

Exit codes (:data:`EXIT_CODES`): 0 done; 2 done with warnings (weather not fetched, advice not run, messages
left queued: the log says which); 1 refused (one sentence, nothing changed); 75 another cycle holds the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from orchard import config, forecast_store, store
from orchard.errors import InputError, OrchardError
from orchard.params import in_force, load_parameters

__all__ = ["CYCLE_FILE", "EXIT_CODES", "CycleBusy", "CycleResult", "cycle_lock", "cycle_parameters",
           "due_reasons", "ingest_new_files", "run_cycle"]

CYCLE_FILE = Path(__file__).parent / "parameters" / "cycle.toml"
EXIT_CODES = {"done": 0, "refused": 1, "warnings": 2, "busy": 75}
#: Sensor files the watched folder may hold (the soil readers' formats).
SENSOR_SUFFIXES = (".csv", ".dat", ".txt")


def cycle_parameters(session=None):
    """The cycle's thresholds (``advice/parameters/cycle.toml``, set ``advice.cycle``): the version an
    agronomist saved last when ``session`` is given (:func:`orchard.params.in_force`), else as shipped."""
    return in_force(session, load_parameters(CYCLE_FILE, name="advice.cycle"))


class CycleBusy(OrchardError):
    """Another cycle holds the lock."""


@contextmanager
def cycle_lock(path: Path):
    """Hold an exclusive OS lock on ``path`` (released when the process ends, even when killed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise CycleBusy(f"another cycle is running (pid {holder}, lock {path}); this one stops without "
                            "changing anything.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass
class CycleResult:
    """What one cycle did; ``code`` is the exit code for the scheduler."""

    day: date
    log: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    run_id: str | None = None
    queued: int = 0
    sent: int = 0
    already_done: bool = False

    @property
    def code(self) -> int:
        return EXIT_CODES["warnings"] if self.warnings else EXIT_CODES["done"]


def due_reasons(session, day: date, params) -> list[str]:
    """Why the chain is due on ``day`` (empty: not due): the weekly turn, or a stored forecast of the day that
    crosses the frost or heavy-rain threshold within ``threshold.lead_days``."""
    reasons = []
    ran = session.scalar(select(store.AdviceRun.issued_on).where(
        store.AdviceRun.issued_on > day - timedelta(days=int(params["weekly.days"])),
        store.AdviceRun.issued_on <= day).order_by(store.AdviceRun.issued_on.desc()).limit(1))
    if ran == day:
        return []  # this date has its run
    if ran is None:
        reasons.append(f"weekly: no run in the {int(params['weekly.days'])} days to {day}")
    lead = int(params["threshold.lead_days"])
    for kind in ("forecast", "ensemble"):
        fc = forecast_store.stored_forecast(session, day, kind)
        if fc is None:
            continue
        window = fc.sel(time=slice(str(day + timedelta(days=1)), str(day + timedelta(days=lead))))
        mean = window.mean("member")  # the ensemble mean (one member: the forecast itself)
        if "tmin_c" in mean and float(mean["tmin_c"].min()) <= float(params["threshold.frost_tmin"]):
            reasons.append(f"frost: {kind} minimum {float(mean['tmin_c'].min()):.1f} °C within {lead} days")
        if "precip_mm" in mean and float(mean["precip_mm"].max()) >= float(params["threshold.heavy_rain"]):
            reasons.append(f"heavy rain: {kind} {float(mean['precip_mm'].max()):.0f} mm in a day within "
                           f"{lead} days")
        break  # the deterministic forecast when stored, else the ensemble
    return reasons


def ingest_new_files(engine, folder: Path, log: Callable[[str], None]) -> tuple[int, list[str]]:
    """Ingest the sensor files of ``folder`` not ingested before (by content), each in one transaction with
    its ``ingested_files`` row; return (files ingested, one sentence per file refused)."""
    from monitoring.soil.ingest import ingest_file

    folder = Path(folder)
    if not folder.is_dir():
        return 0, [f"the watched folder {folder} does not exist; create it or pass --watch."]
    done, problems = 0, []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SENSOR_SUFFIXES):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with store.session_scope(engine) as session:
            if session.get(store.IngestedFile, digest) is not None:
                continue
        try:
            with store.session_scope(engine) as session:
                report = ingest_file(session, path)
                session.add(store.IngestedFile(sha256=digest, path=str(path), readings=report.rows_written,
                                               ingested_utc=datetime.now(timezone.utc)))
        except OrchardError as exc:
            problems.append(f"sensor file {path.name} not ingested: {exc}")
            continue
        done += 1
        log(f"ingested {path.name}: {report.rows_written} readings")
    return done, problems


def _record(engine, day: date, **changes) -> None:
    with store.session_scope(engine) as session:
        row = session.get(store.CycleRun, day)
        if row is None:
            row = store.CycleRun(cycle_date=day, state="running", started_utc=datetime.now(timezone.utc),
                                 log=[])
            session.add(row)
        for key, value in changes.items():
            setattr(row, key, value)


def run_cycle(engine, day: date, *, watch_dir: Path | None = None, district: str | None = None,
              fetch_settings=None, senders: Mapping | None = None, now: datetime | None = None,
              fetch: bool = True, log: Callable[[str], None] = lambda line: None,
              run_chain_kwargs: Mapping | None = None) -> CycleResult:
    """One daily cycle for the local date ``day`` (see the module docstring); holds the lock throughout.

    ``senders`` default :func:`advice.notify.senders_from_env`; ``now`` [UTC] decides quiet hours;
    ``run_chain_kwargs`` are passed to :func:`advice.chain.run_chain` (e.g. ``plot_ids``).

    Raises
    ------
    CycleBusy
        Another cycle holds the lock.
    """
    from advice import notify
    from orchard.weather_fetch import fetch_weather

    result = CycleResult(day=day)

    def say(line: str, warning: bool = False) -> None:
        result.log.append(line)
        if warning:
            result.warnings.append(line)
        log(line)

    senders = notify.senders_from_env() if senders is None else senders
    advice_failed = False
    with cycle_lock(config.orchard_home() / "cycle.lock"):
        with store.session_scope(engine) as session:
            previous = session.get(store.CycleRun, day)
            state = None if previous is None else previous.state
        if state == "done":
            result.already_done = True
            say(f"cycle {day}: already done; only messages still queued are retried")
        else:
            _record(engine, day, state="running", started_utc=datetime.now(timezone.utc))
            with store.session_scope(engine) as session:
                params = cycle_parameters(session)
            if fetch:
                try:
                    report = fetch_weather(engine, issued_on=day, settings=fetch_settings, skip_stored=True)
                except InputError as exc:
                    say(f"weather: {exc}", warning=True)
                else:
                    say(f"weather: {len(report.stored)} forecasts or series stored for {day}")
                    for sentence in report.errors:
                        say(f"weather: {sentence}", warning=True)
                    if report.unreachable:
                        say(f"weather: {report.unreachable}", warning=True)
            if watch_dir is not None:
                n, problems = ingest_new_files(engine, watch_dir, say)
                say(f"sensors: {n} new files ingested from {watch_dir}")
                for sentence in problems:
                    say(f"sensors: {sentence}", warning=True)
            with store.session_scope(engine) as session:
                reasons = due_reasons(session, day, params)
                existing = session.scalar(select(store.AdviceRun.run_id)
                                          .where(store.AdviceRun.issued_on == day))
            if reasons:
                from advice.chain import run_chain

                say("advice: due (" + "; ".join(reasons) + ")")
                try:
                    run = run_chain(engine, day, district=district, keep_recommendations=False,
                                    **dict(run_chain_kwargs or {}))
                except OrchardError as exc:
                    advice_failed = True  # the date is not done: the next cycle for it tries again
                    say(f"advice: not run: {exc}", warning=True)
                else:
                    result.run_id = run.run_id
                    used = run.sources.get("forecast", "")[:120]
                    say(f"advice: run {run.run_id} stored; forecasts used: {used}")
            else:
                result.run_id = existing
                say("advice: not due" + (f" (run {existing} already issued on {day})" if existing else ""))
            if result.run_id is not None:
                with store.session_scope(engine) as session:
                    messages = notify.compose_messages(session, run_id=result.run_id, day=day)
                    result.queued = notify.queue_messages(session, messages)
                say(f"notify: {result.queued} messages queued")
        delivery = notify.deliver(engine, senders=senders, now=now, cycle_date=day)
        result.sent = len(delivery.sent)
        say(f"notify: {len(delivery.sent)} sent, {len(delivery.deferred)} deferred")
        for sentence in delivery.errors:
            say(f"notify: {sentence}", warning=True)
        if not result.already_done:
            _record(engine, day, state="failed" if advice_failed else "done",
                    finished_utc=datetime.now(timezone.utc), run_id=result.run_id, log=list(result.log))
    return result
