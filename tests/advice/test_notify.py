"""Notifications (advice/notify.py, issue #20): opt-in channels, the outbox, e-mail to a local SMTP server and
a webhook on loopback, quiet hours, and no message lost or sent twice when a delivery fails or is killed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timezone

import pytest

from advice import notify
from orchard import store
from orchard.errors import InputError
from tests.notify_receivers import TinySMTP, WebhookReceiver

DAY = date(2016, 7, 15)
NOON_UTC = datetime(2016, 7, 15, 2, 0, tzinfo=timezone.utc)  # 10:00 in China


@pytest.fixture
def engine(tmp_path):
    engine = store.init_db(f"sqlite:///{tmp_path / 'o.db'}")
    with store.session_scope(engine) as session:
        store.upsert_users(session, [{"user_id": u, "display_name": n, "role": "grower"}
                                     for u, n in (("li", "李明"), ("wang", "王芳"), ("chen", "陈建国"))])
    return engine


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def _queue(engine, hook, users=("li", "wang", "chen"), quiet=None):
    with store.session_scope(engine) as session:
        for u in users:
            notify.set_channel(session, u, channel="webhook", address=hook.url(f"/{u}"), language="zh",
                               quiet_hours=quiet)
        n = notify.queue_messages(session, [
            {"cycle_date": DAY, "user_id": u, "channel": "webhook", "address": hook.url(f"/{u}"),
             "language": "zh", "subject": "柑橘园 7月15日 农事建议", "body": f"{u}：喷药", "run_id": "week-x"}
            for u in users])
    return n


def _states(engine) -> list[tuple]:
    with store.session_scope(engine) as session:
        return [(m["user_id"], m["state"], m["attempts"]) for m in notify.list_outbox(session)]


def test_channels_are_checked_before_they_are_stored(engine):
    with store.session_scope(engine) as session:
        with pytest.raises(InputError, match="is not an https URL"):
            notify.set_channel(session, "li", channel="webhook", address="http://gateway.example.org/sms")
        with pytest.raises(InputError, match="is not an e-mail address"):
            notify.set_channel(session, "li", channel="email", address="li-at-example")
        with pytest.raises(InputError, match="user nobody does not exist"):
            notify.set_channel(session, "nobody", channel="email", address="a@b.cn")
        with pytest.raises(InputError, match="quiet hour 25"):
            notify.set_channel(session, "li", channel="email", address="a@b.cn", quiet_hours=(25, 7))
        notify.set_channel(session, "li", channel="webhook", address="https://sms.example.org/send?x=1")
    with store.session_scope(engine) as session:
        rows = session.query(store.NotificationChannel).all()
    assert [(r.user_id, r.channel, r.language, r.enabled) for r in rows] == [("li", "webhook", "zh", True)]


def test_a_message_is_queued_once_per_date_grower_and_channel(engine, hook):
    assert _queue(engine, hook) == 3
    assert _queue(engine, hook) == 0
    assert len(_states(engine)) == 3


def test_webhook_delivery_sends_each_message_once_with_its_key(engine, hook):
    _queue(engine, hook)
    report = notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=NOON_UTC)
    assert len(report.sent) == 3 and report.errors == []
    assert sorted(r["path"] for r in hook.received) == ["/chen", "/li", "/wang"]
    assert {r["key"] for r in hook.received} == {f"orchard-outbox-{i}" for i in report.sent}
    assert hook.received[0]["body"].endswith("喷药") and hook.received[0]["cycle_date"] == "2016-07-15"
    assert all(state == "sent" and attempts == 1 for _, state, attempts in _states(engine))
    again = notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=NOON_UTC)
    assert again.sent == [] and len(hook.received) == 3


@pytest.mark.parametrize("mode, words", [("500", "answered HTTP 500"),
                                         ("hang", "did not answer within 0.3 s")])
def test_a_failing_webhook_is_one_sentence_and_the_message_stays_queued(engine, hook, mode, words):
    _queue(engine, hook, users=("li",))
    hook.mode = mode
    t0 = time.perf_counter()
    report = notify.deliver(engine, senders={"webhook": notify.WebhookSender(timeout_s=0.3)}, now=NOON_UTC)
    assert time.perf_counter() - t0 < 1.5
    assert report.sent == [] and len(report.errors) == 1
    assert report.errors[0] == f"message 1: the webhook of li {words}; it stays queued (attempt 1 of 5)."
    assert _states(engine) == [("li", "queued", 1)]
    hook.mode = "ok"
    report = notify.deliver(engine, senders={"webhook": notify.WebhookSender(timeout_s=0.3)}, now=NOON_UTC)
    assert report.sent == [1] and _states(engine) == [("li", "sent", 2)]
    assert [r["key"] for r in hook.received] == ["orchard-outbox-1"]


def test_a_message_is_given_up_after_the_last_attempt_but_kept(engine, hook):
    _queue(engine, hook, users=("li",))
    hook.mode = "500"
    for _ in range(2):
        report = notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=NOON_UTC,
                                max_attempts=2)
    assert report.errors == ["message 1: the webhook of li answered HTTP 500; it is given up after 2 "
                             "attempts."]
    assert _states(engine) == [("li", "failed", 2)]


def test_quiet_hours_defer_until_the_morning(engine, hook):
    _queue(engine, hook, users=("li",), quiet=(21, 7))
    late = datetime(2016, 7, 15, 15, 30, tzinfo=timezone.utc)  # 23:30 in China
    report = notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=late)
    assert report.deferred == [1] and report.sent == [] and hook.received == []
    morning = datetime(2016, 7, 15, 23, 30, tzinfo=timezone.utc)  # 07:30 in China, the next day
    assert notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=morning).sent == [1]


def test_quiet_hours_of_the_local_clock():
    at = lambda h: datetime(2016, 7, 15, (h - 8) % 24, 0, tzinfo=timezone.utc)  # noqa: E731
    assert notify.in_quiet_hours(at(22), 21, 7) and notify.in_quiet_hours(at(3), 21, 7)
    assert not notify.in_quiet_hours(at(7), 21, 7) and not notify.in_quiet_hours(at(12), 21, 7)
    assert notify.in_quiet_hours(at(13), 12, 14) and not notify.in_quiet_hours(at(14), 12, 14)
    assert not notify.in_quiet_hours(at(3), None, None)


def test_email_reaches_a_local_smtp_server_in_the_growers_language(engine):
    with TinySMTP() as smtp:
        with store.session_scope(engine) as session:
            notify.set_channel(session, "wang", channel="email", address="wang@example.org", language="en")
            notify.queue_messages(session, [{"cycle_date": DAY, "user_id": "wang", "channel": "email",
                                             "address": "wang@example.org", "language": "en",
                                             "subject": "Orchard advice for 15 Jul 2016",
                                             "body": "Dear 王芳,\n王家坡1号地: spray", "run_id": None}])
        sender = notify.EmailSender(host="127.0.0.1", port=smtp.port, sender="orchard@county.example.cn")
        report = notify.deliver(engine, senders={"email": sender}, now=NOON_UTC)
        assert report.sent == [1] and report.errors == []
        (mail,) = smtp.messages
    assert mail["To"] == "wang@example.org" and mail["Subject"] == "Orchard advice for 15 Jul 2016"
    assert mail["Message-ID"] == "<orchard-outbox-1@county.example.cn>"
    assert "王家坡1号地: spray" in mail.get_content()


def test_email_without_a_server_stays_queued_with_one_sentence(engine):
    with store.session_scope(engine) as session:
        notify.set_channel(session, "wang", channel="email", address="wang@example.org")
        notify.queue_messages(session, [{"cycle_date": DAY, "user_id": "wang", "channel": "email",
                                         "address": "wang@example.org", "language": "zh", "subject": "s",
                                         "body": "b", "run_id": None}])
    report = notify.deliver(engine, senders={}, now=NOON_UTC)
    assert report.errors == ["1 email message(s) stay queued: no email sender is configured (set "
                             "ORCHARD_SMTP_HOST)."]
    closed = notify.EmailSender(host="127.0.0.1", port=1, timeout_s=0.5)
    report = notify.deliver(engine, senders={"email": closed}, now=NOON_UTC)
    assert report.errors[0].startswith("message 1: e-mail to wang via 127.0.0.1:1 failed "
                                       "(ConnectionRefusedError")
    assert _states(engine) == [("wang", "queued", 1)]


class Killed(BaseException):
    """Stands for the process being killed (not an Exception: nothing may catch it)."""


def test_a_delivery_killed_mid_batch_leaves_no_half_sent_batch(engine, hook):
    _queue(engine, hook)

    class DiesOnSecond:
        def __init__(self):
            self.calls = 0

        def send(self, message):
            self.calls += 1
            if self.calls == 2:
                raise Killed()
            notify.WebhookSender().send(message)

    with pytest.raises(Killed):
        notify.deliver(engine, senders={"webhook": DiesOnSecond()}, now=NOON_UTC)
    # the first is sent and recorded, the second caught in "sending", the third still queued
    assert _states(engine) == [("li", "sent", 1), ("wang", "sending", 1), ("chen", "queued", 0)]
    report = notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=NOON_UTC)
    assert report.sent == [2, 3]
    assert [s for _, s, _ in _states(engine)] == ["sent"] * 3
    keys = [r["key"] for r in hook.received]
    assert sorted(keys) == ["orchard-outbox-1", "orchard-outbox-2", "orchard-outbox-3"]  # each once


def test_a_killed_process_leaves_every_message_sent_once_or_queued(engine, hook, tmp_path):
    """A real SIGKILL while the second message is being sent: the outbox has it in "sending" (it cannot know
    whether the gateway got it); the next delivery sends it with the same key (a gateway that did get it
    drops the repeat), so the gateway sees each key and the outbox marks each message sent exactly once."""
    _queue(engine, hook)
    hook.mode, hook.hang_s = "ok", 0.0
    script = textwrap.dedent(f"""
        import time, sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[2])!r})
        from advice import notify
        from orchard import store
        engine = store.init_db({str(engine.url)!r})
        class Slow:
            def send(self, message):
                if message["id"] == 2:
                    open({str(tmp_path / 'at2')!r}, "w").close()
                    time.sleep(60)
                notify.WebhookSender().send(message)
        notify.deliver(engine, senders={{"webhook": Slow()}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(600):
            if (tmp_path / "at2").exists():
                break
            time.sleep(0.05)
        assert (tmp_path / "at2").exists()
    finally:
        proc.kill()
        proc.wait()
    assert _states(engine) == [("li", "sent", 1), ("wang", "sending", 1), ("chen", "queued", 0)]
    report = notify.deliver(engine, senders={"webhook": notify.WebhookSender()}, now=NOON_UTC)
    assert report.sent == [2, 3] and [s for _, s, _ in _states(engine)] == ["sent"] * 3
    assert sorted(r["key"] for r in hook.received) == [f"orchard-outbox-{i}" for i in (1, 2, 3)]


def test_only_advice_a_grower_may_see_is_sent_held_or_unapproved_under_review_is_not(engine, hook):
    def advice(plot_id):
        return {"plot_id": plot_id, "issued_on": DAY, "valid_from": DAY, "valid_to": date(2016, 7, 18),
                "topic": "spray", "severity": 4, "action_key": "advice.action.spray_protective",
                "reason_key": "advice.reason.unprotected_risk", "module": "pests",
                "action_numbers": {"pest": "canker"}}

    with store.session_scope(engine) as session:
        store.upsert_users(session, [{"user_id": "zhao", "display_name": "赵", "role": "agronomist"}])
        store.upsert_plots(session, [{"plot_id": "P1", "owner_id": "li", "district": "Zigui"},
                                     {"plot_id": "P2", "owner_id": "wang", "district": "Zigui"},
                                     {"plot_id": "P3", "owner_id": "chen", "district": "Fengjie"}])
        store.store_advice_run(session, {"run_id": "w29", "issued_on": DAY},
                               [advice(p) for p in ("P1", "P2", "P3")])
        for u in ("li", "wang", "chen"):
            notify.set_channel(session, u, channel="webhook", address=hook.url(f"/{u}"))

    def growers_messaged():
        with store.session_scope(engine) as session:
            return {m["user_id"] for m in notify.compose_messages(session, run_id="w29", day=DAY)}

    assert growers_messaged() == {"li", "wang", "chen"}  # no review settings: everything goes
    with store.session_scope(engine) as session:
        store.review_advice(session, "zhao", "w29", decision="held", plot_id="P2", note="wait")
        store.set_review_required(session, "zhao", "Fengjie", True)
    assert growers_messaged() == {"li"}  # P2 held; P3's district needs approval first
    with store.session_scope(engine) as session:
        store.review_advice(session, "zhao", "w29", decision="approved", district="Fengjie")
    assert growers_messaged() == {"li", "chen"}


def test_one_short_message_per_grower_with_plot_action_window_and_dose_per_mu():
    spray = {"plot_id": "CT04", "topic": "spray", "severity": 4, "valid_from": DAY,
             "valid_to": date(2016, 7, 18), "action_numbers": {"pest": "canker"},
             "products": [{"product_id": "cu", "name_zh": "77%氢氧化铜可湿性粉剂",
                           "name_en": "copper hydroxide 77% WP", "dose": {"per_mu": 187.5, "per_mu_unit": "g", "dilution": 800}}]}
    others = [{"plot_id": f"CT{i:02d}", "topic": "fertilise", "severity": 2, "valid_from": DAY,
               "valid_to": date(2016, 8, 5), "action_numbers": {}, "products": []} for i in range(5, 11)]
    names = {"CT04": "李家湾2号地", **{f"CT{i:02d}": f"李家湾{i}号地" for i in range(5, 11)}}
    subject, body = notify.message_for("李明", names, [*others, spray], DAY, "zh")
    lines = body.splitlines()
    assert subject == "柑橘园 7月15日 农事建议" and lines[0] == "李明，您好："
    assert lines[1] == "李家湾2号地：喷药防治溃疡病，7月15日–7月18日；77%氢氧化铜可湿性粉剂 每亩 187.5 g（800 倍液）"
    assert len(lines) == 1 + notify.MAX_PLOTS_PER_MESSAGE + 1 and lines[-1] == "另有 3 块地，详见应用。"
    subject, body = notify.message_for("Li Ming", names, [spray], DAY, "en")
    assert body.splitlines()[1] == ("李家湾2号地: spray against canker, 15 Jul–18 Jul; copper hydroxide 77% WP "
                                    "187.5 g per mu (800x dilution)")


def test_notify_cli_opts_in_lists_the_outbox_and_refuses_bad_input(engine, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORCHARD_DB_URL", str(engine.url))
    code, out, _ = run_cli(["notify", "channel", "li", "--webhook", "https://sms.example.cn/send", "--quiet",
                            "21-7"])
    assert code in (0, None) and "li: webhook on (https://sms.example.cn/send, zh, quiet 21-7)" in out
    code, _, err = run_cli(["notify", "channel", "li", "--email", "li@", "--language", "en"])
    assert code == 1 and err == "orchard: error: 'li@' is not an e-mail address.\n"
    code, _, err = run_cli(["notify", "channel", "li", "--email", "li@example.org", "--quiet", "evening"])
    assert code == 1 and "quiet hours 'evening' are not START-END clock hours" in err
    with store.session_scope(engine) as session:
        rows = [(r.user_id, r.channel, r.quiet_start_h, r.quiet_end_h)
                for r in session.query(store.NotificationChannel).all()]
    assert rows == [("li", "webhook", 21, 7)]  # the refused ones stored nothing
    with store.session_scope(engine) as session:
        notify.queue_messages(session, [{"cycle_date": DAY, "user_id": "li", "channel": "webhook",
                                         "address": "https://sms.example.cn/send", "language": "zh",
                                         "subject": "s", "body": "b", "run_id": None}])
    code, out, _ = run_cli(["notify", "outbox", "--json"])
    import json

    (row,) = json.loads(out)
    assert (row["user_id"], row["state"], row["attempts"]) == ("li", "queued", 0)
