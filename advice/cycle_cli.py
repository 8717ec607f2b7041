"""``orchard cycle`` (the daily cycle) and ``orchard notify`` (growers' channels, the outbox, delivery)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from orchard.cli_common import engine, out, print_records
from orchard.errors import InputError

notify_app = typer.Typer(no_args_is_help=True, help="Messages to growers: channels, outbox, delivery.")


def register(app: typer.Typer) -> None:
    """Add ``cycle`` and ``notify`` to the ``orchard`` command."""
    app.command("cycle")(cycle_command)
    app.add_typer(notify_app, name="notify")


def _day(value: str | None):
    import pandas as pd

    from orchard.weather_fetch import local_today

    if value is None:
        return local_today()
    try:
        return pd.to_datetime(value, format="%Y-%m-%d").date()
    except (ValueError, TypeError):
        raise InputError(f"date {value!r} is not a date; write it as YYYY-MM-DD.") from None


def _logger():
    """The cycle's log: ``ORCHARD_HOME/logs/cycle.log`` (appended) and stdout."""
    from orchard import config

    folder = config.orchard_home() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("orchard.cycle")
    logger.setLevel(logging.INFO)
    target = str(folder / "cycle.log")
    if not any(getattr(h, "baseFilename", None) == target for h in logger.handlers):
        for h in list(logger.handlers):
            logger.removeHandler(h)
        handler = logging.FileHandler(target, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


def cycle_command(
    date: Annotated[str | None, typer.Option("--date", help="Local date of the cycle, YYYY-MM-DD (default "
                                             "today, China time).")] = None,
    watch: Annotated[Path | None, typer.Option("--watch", help="Folder of new sensor files (default "
                                               "ORCHARD_HOME/incoming when it exists).")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only plots of this district.")] = None,
    no_fetch: Annotated[bool, typer.Option("--no-fetch", help="Run on the stored weather only.")] = False,
) -> None:
    """The daily cycle: fetch weather, ingest new sensor files, run the chain when due, store, notify growers.
    Exit code 0 done, 2 done with warnings, 1 refused, 75 another cycle is running."""
    from advice.cycle import EXIT_CODES, CycleBusy, run_cycle
    from orchard import config

    day = _day(date)
    if watch is None and (config.orchard_home() / "incoming").is_dir():
        watch = config.orchard_home() / "incoming"
    logger = _logger()

    def log(line: str) -> None:
        logger.info(line)
        out.print(line)

    try:
        result = run_cycle(engine(), day, watch_dir=watch, district=district, fetch=not no_fetch, log=log)
    except CycleBusy as exc:
        logger.warning(str(exc))
        print(f"orchard: {exc}", file=sys.stderr)  # one line, never wrapped
        raise typer.Exit(EXIT_CODES["busy"]) from None
    for line in result.warnings:
        logger.warning(line)
    logger.info(f"cycle {day}: exit {result.code}")
    raise typer.Exit(result.code)


@notify_app.command("channel")
def channel_command(
    user: Annotated[str, typer.Argument(help="The grower's user id.")],
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook",
                                                help="https URL of an SMS/WeChat gateway.")] = None,
    language: Annotated[str, typer.Option("--language", help="zh or en.")] = "zh",
    quiet: Annotated[str | None, typer.Option("--quiet", help="Quiet hours, local clock, e.g. 21-7.")] = None,
    off: Annotated[bool, typer.Option("--off", help="Opt out of this channel.")] = False,
) -> None:
    """Opt a grower in (or out with --off) of e-mail or a webhook, with language and quiet hours."""
    from advice import notify
    from orchard import store

    if (email is None) == (webhook is None):
        raise InputError("give exactly one of --email or --webhook.")
    hours = None
    if quiet:
        try:
            start, end = (int(x) for x in quiet.split("-"))
        except ValueError:
            raise InputError(f"quiet hours '{quiet}' are not START-END clock hours, e.g. 21-7.") from None
        hours = (start, end)
    channel, address = ("email", email) if email is not None else ("webhook", webhook)
    with store.session_scope(engine()) as session:
        notify.set_channel(session, user, channel=channel, address=address, language=language,
                           quiet_hours=hours, enabled=not off)
    out.print(f"{user}: {channel} {'off' if off else 'on'} ({address}, {language}"
              f"{', quiet ' + quiet if quiet else ''})")


@notify_app.command("outbox")
def outbox_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The outbox: every message with its state, attempts and delivery time."""
    from advice import notify
    from orchard import store

    with store.session_scope(engine()) as session:
        rows = notify.list_outbox(session)
    print_records(rows, ("id", "cycle_date", "user_id", "channel", "state", "attempts", "delivered_utc",
                         "last_error"), as_json, title="outbox")


@notify_app.command("send")
def send_command() -> None:
    """Deliver the queued messages now (outside quiet hours); exit 2 when some stay queued."""
    from advice import notify

    report = notify.deliver(engine(), senders=notify.senders_from_env(), now=datetime.now(timezone.utc))
    out.print(f"{len(report.sent)} sent, {len(report.deferred)} deferred")
    for sentence in report.errors:
        print(f"orchard: {sentence}", file=sys.stderr)
    if report.errors:
        raise typer.Exit(2)
