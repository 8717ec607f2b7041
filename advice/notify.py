"""Advice pushed to growers (issue #20): opt-in channels, one short message per grower per cycle, an outbox,
and senders for e-mail (SMTP) and a generic HTTPS webhook (an SMS or WeChat gateway sits behind it).

The outbox (table ``outbox``) holds every message with its channel, state, attempts and delivery time. A
message is unique per cycle date, grower and channel, so a cycle run twice queues it once. Delivery goes one
message at a time and commits every state change before and after the send::

    queued --(commit: sending, attempts + 1)--> send --(commit: sent, delivered_utc)--> sent
                                                   \\--(commit: queued with the error, or failed at the last
                                                       attempt)

so a cycle killed at any point leaves each message sent or still to send: a message caught in ``sending`` is
sent again by the next delivery with the same ``Message-ID`` / ``Idempotency-Key`` (the outbox id), which is
what lets the mail server or the gateway drop the one duplicate the kill may have caused. Quiet hours (the
grower's local clock, China Standard Time) defer a message to the next delivery.

Only advice a grower may see is sent (:func:`approved_only`, the review gate of issue #19): nothing an
agronomist has held, and only approved advice where the district requires review.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage

import requests
from sqlalchemy import select

from orchard import store
from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError

__all__ = ["NOTIFY_TOPICS", "MAX_PLOTS_PER_MESSAGE", "DeliveryError", "DeliveryReport", "EmailSender",
           "WebhookSender", "approved_only", "compose_messages", "deliver", "in_quiet_hours", "list_outbox",
           "queue_messages", "senders_from_env", "set_channel"]

#: Topics worth a message (scouting, skipped sprays and data notes stay in the app).
NOTIFY_TOPICS = ("spray", "protect_from_frost", "irrigate", "fertilise", "harvest")
#: Plots listed in one message; more are summed up in one line (a message read on a phone stays short).
MAX_PLOTS_PER_MESSAGE = 4
#: Attempts before a message is given up as failed (it stays in the outbox, with its last error).
MAX_ATTEMPTS = 5

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ACTIONS = {
    "spray": ("喷药防治{pest}", "spray against {pest}"),
    "protect_from_frost": ("防冻", "protect from frost"),
    "irrigate": ("灌溉", "irrigate"),
    "fertilise": ("施肥", "fertilise"),
    "harvest": ("采收", "harvest"),
}
_PESTS = {"black_spot": ("黑星病", "black spot"), "canker": ("溃疡病", "canker"), "mites": ("红蜘蛛", "mites"),
          "leaf_miner": ("潜叶蛾", "leaf miner")}


class DeliveryError(InputError):
    """A message could not be delivered this time (it stays queued)."""


# ----------------------------------------------------------------------------------------------------------
# Channels
# ----------------------------------------------------------------------------------------------------------
def set_channel(session, user_id: str, *, channel: str, address: str, language: str = "zh",
                quiet_hours: tuple[int, int] | None = None, enabled: bool = True) -> None:
    """Opt a grower in (or out, ``enabled=False``) of one channel.

    ``address``: an e-mail address, or the webhook's https URL (plain http only on the loopback, for a local
    gateway); ``quiet_hours``: (start, end) local clock hours [0–23], start > end spans midnight.
    """
    if channel not in store.CHANNELS:
        raise InputError(f"channel '{channel}' is not one of {', '.join(store.CHANNELS)}.")
    if language not in store.LANGUAGES:
        raise InputError(f"language '{language}' is not one of {', '.join(store.LANGUAGES)}.")
    if session.get(store.User, user_id) is None:
        raise InputError(f"user {user_id} does not exist; add the grower first (orchard users add).")
    if channel == "email" and not _EMAIL.match(address):
        raise InputError(f"'{address}' is not an e-mail address.")
    if channel == "webhook":
        url = urllib.parse.urlsplit(address)
        secure = url.scheme == "https" or (url.scheme == "http" and url.hostname in _LOOPBACK)
        if not secure or not url.netloc:
            raise InputError(f"'{address}' is not an https URL; a webhook must use https (http only on "
                             "127.0.0.1).")
    start, end = quiet_hours if quiet_hours else (None, None)
    for hour in (start, end):
        if hour is not None and not 0 <= int(hour) <= 23:
            raise InputError(f"quiet hour {hour} is not a clock hour 0–23.")
    row = session.get(store.NotificationChannel, (user_id, channel))
    if row is None:
        row = store.NotificationChannel(user_id=user_id, channel=channel)
        session.add(row)
    row.address, row.language, row.enabled = address, language, bool(enabled)
    row.quiet_start_h, row.quiet_end_h = start, end


def in_quiet_hours(now_utc: datetime, start: int | None, end: int | None) -> bool:
    """Whether ``now_utc`` falls in the quiet hours [start, end) of the local clock (China Standard Time)."""
    if start is None or end is None or start == end:
        return False
    hour = (now_utc.astimezone(timezone.utc) + timedelta(hours=CHINA_UTC_OFFSET_H)).hour
    return start <= hour < end if start < end else (hour >= start or hour < end)


# ----------------------------------------------------------------------------------------------------------
# Messages
# ----------------------------------------------------------------------------------------------------------
def approved_only(session, recommendations: Sequence[Mapping]) -> list[Mapping]:
    """The recommendations that may be sent to growers: the advice review gate (issue #19).

    A recommendation passes when its run's advice for the plot is visible to the grower
    (:func:`orchard.store.review_states`): not held by an agronomist, and approved where the
    plot's district requires review. With no review settings every recommendation passes.
    """
    states = {run: store.review_states(session, run, [r["plot_id"] for r in recommendations
                                                      if r["run_id"] == run])
              for run in {r["run_id"] for r in recommendations}}
    return [r for r in recommendations if states[r["run_id"]][r["plot_id"]]["visible"]]


def _action_text(rec: Mapping, language: str) -> str:
    zh, en = _ACTIONS[rec["topic"]]
    pest = (rec.get("action_numbers") or {}).get("pest")
    name = _PESTS.get(pest, (pest or "", pest or ""))
    return zh.format(pest=name[0]) if language == "zh" else en.format(pest=name[1])


def _window(rec: Mapping, language: str) -> str:
    a, b = rec["valid_from"], rec["valid_to"]
    if language == "zh":
        return f"{a.month}月{a.day}日" + (f"–{b.month}月{b.day}日" if b != a else "")
    return f"{a:%d %b}" + (f"–{b:%d %b}" if b != a else "")


def _dose_text(rec: Mapping, language: str) -> str:
    """The first advised product with its dose per 亩 (and the 倍液 dilution for sprays), advice/doses.py."""
    products = [p for p in (rec.get("products") or []) if not p.get("excluded")]
    if not products or not isinstance(products[0].get("dose"), Mapping):
        return ""
    product, dose = products[0], products[0]["dose"]
    name = (product.get("name_zh" if language == "zh" else "name_en")
            or product.get("trade_name_zh" if language == "zh" else "trade_name_en")
            or product.get("product_id"))
    amount = f"{dose['per_mu']:g} {dose['per_mu_unit']}"
    if language == "zh":
        return f"；{name} 每亩 {amount}" + (f"（{dose['dilution']:g} 倍液）" if dose.get("dilution") else "")
    dilution = f" ({dose['dilution']:g}x dilution)" if dose.get("dilution") else ""
    return f"; {name} {amount} per mu{dilution}"


def message_for(grower: str, plots: Mapping[str, str], recs: Sequence[Mapping], day: date,
                language: str) -> tuple[str, str]:
    """Subject and body of one grower's message: one line per plot (the most severe action first), with the
    action, its window and the per-亩 dose; at most :data:`MAX_PLOTS_PER_MESSAGE` plots."""
    by_plot: dict[str, Mapping] = {}
    for rec in sorted(recs, key=lambda r: (-int(r["severity"]), r["valid_from"], r["plot_id"])):
        by_plot.setdefault(rec["plot_id"], rec)
    lines = []
    for pid, rec in list(by_plot.items())[:MAX_PLOTS_PER_MESSAGE]:
        name = plots.get(pid) or pid
        sep = "：" if language == "zh" else ": "
        comma = "，" if language == "zh" else ", "
        lines.append(f"{name}{sep}{_action_text(rec, language)}{comma}{_window(rec, language)}"
                     f"{_dose_text(rec, language)}")
    more = len(by_plot) - MAX_PLOTS_PER_MESSAGE
    if more > 0:
        lines.append(f"另有 {more} 块地，详见应用。" if language == "zh" else f"{more} more plots: see the app.")
    if language == "zh":
        return f"柑橘园 {day.month}月{day.day}日 农事建议", f"{grower}，您好：\n" + "\n".join(lines)
    return f"Orchard advice for {day:%d %b %Y}", f"Dear {grower},\n" + "\n".join(lines)


def compose_messages(session, *, run_id: str, day: date,
                     review: Callable[[object, Sequence[Mapping]], list] | None = None) -> list[dict]:
    """One message per grower and enabled channel from the actionable recommendations of ``run_id`` on the
    grower's plots (after the review hook, :func:`approved_only` by default); growers with nothing to do
    get none."""
    review = review or approved_only
    record = store.RecommendationRecord
    rows = session.scalars(select(record).where(record.run_id == run_id, record.topic.in_(NOTIFY_TOPICS)))
    columns = [c.name for c in store.RecommendationRecord.__table__.columns]
    recs = review(session, [{c: getattr(r, c) for c in columns} for r in rows])
    plots = {p.plot_id: (p.owner_id, p.name) for p in session.scalars(select(store.Plot))}
    channels = session.scalars(select(store.NotificationChannel).where(store.NotificationChannel.enabled))
    messages = []
    for ch in channels:
        mine = [r for r in recs if plots.get(r["plot_id"], (None,))[0] == ch.user_id]
        if not mine:
            continue
        user = session.get(store.User, ch.user_id)
        names = {pid: name for pid, (owner, name) in plots.items() if owner == ch.user_id}
        subject, body = message_for(user.display_name, names, mine, day, ch.language)
        messages.append({"cycle_date": day, "user_id": ch.user_id, "channel": ch.channel,
                         "address": ch.address, "language": ch.language, "subject": subject, "body": body,
                         "run_id": run_id})
    return messages


def queue_messages(session, messages: Sequence[Mapping]) -> int:
    """Put messages in the outbox, skipping those already queued for the same date, grower and channel;
    return how many were added."""
    added = 0
    for m in messages:
        exists = session.scalar(select(store.OutboxMessage.id).where(
            store.OutboxMessage.cycle_date == m["cycle_date"], store.OutboxMessage.user_id == m["user_id"],
            store.OutboxMessage.channel == m["channel"]))
        if exists is None:
            session.add(store.OutboxMessage(**m, state="queued", attempts=0,
                                            created_utc=datetime.now(timezone.utc)))
            added += 1
    session.flush()
    return added


def list_outbox(session, cycle_date: date | None = None) -> list[dict]:
    """The outbox (all, or one cycle date's), oldest first."""
    query = select(store.OutboxMessage)
    if cycle_date is not None:
        query = query.where(store.OutboxMessage.cycle_date == cycle_date)
    columns = [c.name for c in store.OutboxMessage.__table__.columns]
    rows = session.scalars(query.order_by(store.OutboxMessage.id))
    return [{c: getattr(m, c) for c in columns} for m in rows]


# ----------------------------------------------------------------------------------------------------------
# Senders
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmailSender:
    """E-mail through an SMTP server (``smtplib``); STARTTLS and a login when configured."""

    host: str
    port: int = 25
    sender: str = "orchard@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 20.0

    def send(self, message: Mapping) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message["address"], message["subject"]
        mail["Message-ID"] = f"<orchard-outbox-{message['id']}@{self.sender.split('@')[-1]}>"  # dedupe key
        mail.set_content(message["body"])
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"e-mail to {message['user_id']} via {self.host}:{self.port} failed "
                                f"({type(exc).__name__}: {str(exc)[:80]})") from None


@dataclass(frozen=True)
class WebhookSender:
    """A JSON POST to the grower's webhook URL (an SMS or WeChat gateway): ``{id, user_id, language,
    subject, body, cycle_date}``, header ``Idempotency-Key`` = the outbox id; any 2xx is delivered."""

    timeout_s: float = 10.0

    def send(self, message: Mapping) -> None:
        payload = {"id": message["id"], "user_id": message["user_id"], "language": message["language"],
                   "subject": message["subject"], "body": message["body"],
                   "cycle_date": str(message["cycle_date"])}
        try:
            body = json.dumps(payload, ensure_ascii=False).encode()
            response = requests.post(message["address"], data=body,
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "Idempotency-Key": f"orchard-outbox-{message['id']}"},
                                     timeout=self.timeout_s)
        except requests.exceptions.Timeout:
            raise DeliveryError(f"the webhook of {message['user_id']} did not answer within "
                                f"{self.timeout_s:g} s") from None
        except requests.exceptions.RequestException as exc:
            raise DeliveryError(f"the webhook of {message['user_id']} could not be reached "
                                f"({type(exc).__name__})") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"the webhook of {message['user_id']} answered HTTP {response.status_code}")


def senders_from_env() -> dict:
    """Senders configured by the environment: e-mail when ``ORCHARD_SMTP_HOST`` is set (``_PORT``, ``_FROM``,
    ``_USER``, ``_PASSWORD``, ``_STARTTLS=1``), the webhook always (``ORCHARD_WEBHOOK_TIMEOUT_S``)."""
    timeout = float(os.environ.get("ORCHARD_WEBHOOK_TIMEOUT_S", 10))
    senders: dict = {"webhook": WebhookSender(timeout_s=timeout)}
    host = os.environ.get("ORCHARD_SMTP_HOST")
    if host:
        senders["email"] = EmailSender(host=host, port=int(os.environ.get("ORCHARD_SMTP_PORT", 25)),
                                       sender=os.environ.get("ORCHARD_SMTP_FROM", "orchard@localhost"),
                                       username=os.environ.get("ORCHARD_SMTP_USER") or None,
                                       password=os.environ.get("ORCHARD_SMTP_PASSWORD") or None,
                                       starttls=os.environ.get("ORCHARD_SMTP_STARTTLS") == "1")
    return senders


# ----------------------------------------------------------------------------------------------------------
# Delivery
# ----------------------------------------------------------------------------------------------------------
@dataclass
class DeliveryReport:
    """What one delivery did: ids sent, ids deferred (quiet hours, no sender), one sentence per failure."""

    sent: list = field(default_factory=list)
    deferred: list = field(default_factory=list)
    errors: list = field(default_factory=list)


def deliver(engine, *, senders: Mapping, now: datetime | None = None, max_attempts: int = MAX_ATTEMPTS,
            cycle_date: date | None = None) -> DeliveryReport:
    """Send every queued message (and any left in ``sending`` by a killed delivery), one at a time, each state
    change committed; see the module docstring."""
    report = DeliveryReport()
    with store.session_scope(engine) as session:
        query = select(store.OutboxMessage.id).where(store.OutboxMessage.state.in_(("queued", "sending")))
        if cycle_date is not None:
            query = query.where(store.OutboxMessage.cycle_date <= cycle_date)
        ids = list(session.scalars(query.order_by(store.OutboxMessage.id)))
    missing_sender: dict[str, int] = {}
    for message_id in ids:
        moment = now or datetime.now(timezone.utc)
        with store.session_scope(engine) as session:
            m = session.get(store.OutboxMessage, message_id)
            ch = session.get(store.NotificationChannel, (m.user_id, m.channel))
            sender = senders.get(m.channel)
            if ch is not None and in_quiet_hours(moment, ch.quiet_start_h, ch.quiet_end_h):
                report.deferred.append(message_id)
                continue
            if sender is None:
                missing_sender[m.channel] = missing_sender.get(m.channel, 0) + 1
                report.deferred.append(message_id)
                continue
            m.state, m.attempts = "sending", m.attempts + 1
            payload = {c.name: getattr(m, c.name) for c in store.OutboxMessage.__table__.columns}
        try:  # the "sending" state is committed before anything leaves the machine
            sender.send(payload)
        except DeliveryError as exc:
            with store.session_scope(engine) as session:
                m = session.get(store.OutboxMessage, message_id)
                m.state = "failed" if m.attempts >= max_attempts else "queued"
                m.last_error = str(exc)
            attempts = payload["attempts"]
            then = (f"it is given up after {attempts} attempts" if attempts >= max_attempts
                    else f"it stays queued (attempt {attempts} of {max_attempts})")
            report.errors.append(f"message {message_id}: {exc}; {then}.")
            continue
        with store.session_scope(engine) as session:
            m = session.get(store.OutboxMessage, message_id)
            m.state, m.delivered_utc, m.last_error = "sent", datetime.now(timezone.utc), None
        report.sent.append(message_id)
    for channel, n in missing_sender.items():
        report.errors.append(f"{n} {channel} message(s) stay queued: no {channel} sender is configured "
                             + ("(set ORCHARD_SMTP_HOST)." if channel == "email" else "."))
    return report
