"""E-mail from the outbox: every area's mails, sent by one drain.

An area that sends mail registers its outbox topic and the function that renders an item of it
(`register`, from the area's ``init_app``); its services add outbox rows in their transaction and
the view commits with `portal.outbox.commit`, which nudges this drain so the worker sends at once.
Every minute, and when a consumer starts, the worker sends whatever is still waiting, so a lost
nudge, a killed worker or an SMTP outage only delays mail. `flask mail drain` does the same.

A row leaves the outbox only once the server accepted its mail (or we gave up on it, with an
ERROR log line). Two drains at once (two worker threads, the CLI) never send a mail twice: each
mail is *claimed* by deleting its row in a savepoint held while the server takes the message;
a second drain's delete waits for that and then matches nothing. A crash after the server took
the mail and before the commit sends it again: such a duplicate carries the same Message-ID.

One bad mail never blocks the others: a refusal for now (4xx) is retried 1, 2, 4… minutes later,
up to MAIL_MAX_ATTEMPTS; a permanent refusal (5xx, no such mailbox) is given up at once. A server
that cannot be reached stops the drain without counting attempts: nothing is lost in an outage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from huey import crontab
from sqlalchemy import delete
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from portal import mail, outbox
from portal.db import utcnow
from portal.jobs import huey, with_session

log = logging.getLogger(__name__)

_OUTBOX = outbox.OutboxItem.__table__

#: Every mail topic starts with this: `portal.outbox.commit` nudges this drain for them.
PREFIX = "email."
#: Outbox topic → "module:function" rendering an item: f(session, key, payload, now) → EmailMessage,
#: or None when there is nothing to send; raises ValueError for an address that cannot be used.
#: Filled by `register`; a string, imported when first used, so no area is imported here.
RENDERERS: dict[str, str] = {}


def register(topic: str, renderer: str) -> None:
    """Send the outbox items of ``topic`` (which starts with "email.") rendered by ``renderer``."""
    if not topic.startswith(PREFIX):
        raise ValueError(f"mail topic {topic!r} must start with {PREFIX!r}")
    RENDERERS[topic] = renderer


@dataclass
class DrainReport:
    #: Accepted by the server (or written to DATA_DIR/mail when suppressed).
    sent: int = 0
    #: Nothing to send (a reassignment, an electronic copy's delivery, the event gone), or sent
    #: meanwhile by another drain.
    skipped: int = 0
    #: Refused for now: kept, tried again later.
    deferred: int = 0
    #: Given up (permanent refusal, unusable address, too many attempts), each logged as an ERROR.
    dropped: int = 0
    #: Why the server could not be used; every mail left waits for the next drain.
    unavailable: str = ""
    #: Mails still in the outbox after this drain.
    waiting: int = 0

    def summary(self) -> str:
        line = (f"Thư / e-mails: đã gửi / sent {self.sent}, "
                f"bỏ qua / skipped {self.skipped}, gửi lại sau / deferred {self.deferred}, "
                f"bỏ / given up {self.dropped}, còn chờ / waiting {self.waiting}")
        if self.unavailable:
            line += f"\nMáy chủ thư không dùng được / mail server unavailable: {self.unavailable}"
        return line


def drain_mail(session: Session, *, now: datetime | None = None) -> DrainReport:
    """Send the waiting mails of every topic, oldest first; commits as it goes.

    Raises only for database errors; an unreachable server is reported in ``unavailable``.
    """
    config = current_app.config
    report = DrainReport()
    with mail.Mailer(config) as mailer:
        try:
            for topic, renderer in RENDERERS.items():
                render = import_string(renderer)

                def apply(items: list[outbox.OutboxItem], render=render) -> list[outbox.OutboxItem]:
                    return [item for item in items
                            if not _deliver(session, mailer, render, item, report, now or utcnow())]

                outbox.drain(session, topic, apply, batch_size=1)
        except mail.MailUnavailable as error:
            session.rollback()
            report.unavailable = str(error)
    report.waiting = outbox.pending(session, list(RENDERERS))
    session.rollback()  # end the read; callers (a request's inline nudge) start clean
    if report.unavailable:
        log.warning("mail server unavailable, %d e-mail(s) wait in the outbox: %s",
                    report.waiting, report.unavailable)
    return report


def _deliver(session: Session, mailer: mail.Mailer, render, item: outbox.OutboxItem,
             report: DrainReport, now: datetime) -> bool:
    """Send one item's mail; False keeps the row for later. Raises MailUnavailable."""
    payload: dict[str, Any] = dict(item.payload or {})
    retry_at = payload.get("retry_at")
    if retry_at and datetime.fromisoformat(retry_at) > now:
        report.deferred += 1
        return False
    try:
        message = render(session, item.key, payload, now)
    except ValueError as error:  # no usable address: trying again will not make one
        log.error("e-mail %s %s given up: %s", item.topic, item.key, error)
        report.dropped += 1
        return True
    except Exception as error:  # noqa: BLE001 - a template or data bug must not block the others
        log.exception("e-mail %s %s could not be rendered", item.topic, item.key)
        return _retry_later(item, payload, f"render: {error}", report, now)
    if message is None:
        report.skipped += 1
        return True
    mailer.open()  # before the claim: an unreachable server must not hold a lock for its timeout
    try:
        with session.begin_nested():
            claimed = session.execute(delete(_OUTBOX).where(_OUTBOX.c.id == item.id)).rowcount
            if not claimed:  # another drain sent it while we rendered
                report.skipped += 1
                return True
            mailer.send(message)
    except mail.MailRefused as error:
        if error.permanent:
            log.error("e-mail %s %s to %s given up: the server refused it (%s)",
                      item.topic, item.key, message["To"], error)
            report.dropped += 1
            return True
        return _retry_later(item, payload, str(error), report, now)
    report.sent += 1
    return True


def _retry_later(item: outbox.OutboxItem, payload: dict[str, Any], why: str, report: DrainReport,
                 now: datetime) -> bool:
    attempts = int(payload.get("attempts", 0)) + 1
    limit = int(current_app.config["MAIL_MAX_ATTEMPTS"])
    if attempts >= limit:
        log.error("e-mail %s %s given up after %d attempts: %s", item.topic, item.key, attempts, why)
        report.dropped += 1
        return True
    payload.update(attempts=attempts, last_error=why[:300],
                   retry_at=(now + timedelta(minutes=2 ** (attempts - 1))).isoformat())
    item.payload = payload  # a new dict: the JSON column sees the change
    log.warning("e-mail %s %s deferred (attempt %d of %d): %s",
                item.topic, item.key, attempts, limit, why)
    report.deferred += 1
    return False


@huey.task(name="mail.drain")
def send_waiting_mail() -> int:
    return with_session(lambda session: drain_mail(session).sent)


@huey.periodic_task(crontab(minute="*"), name="mail.drain.periodic")
def send_waiting_mail_periodically() -> int:
    return with_session(lambda session: drain_mail(session).sent)


@huey.on_startup()
def catch_up_on_start() -> None:
    """A restarted worker sends what a killed one left, without waiting for the minute."""
    send_waiting_mail()


def nudge() -> None:
    """Ask the worker to send waiting mail now; call it after the commit (inline when huey is
    immediate, as in tests). Never raises: the periodic drain sends what a failed nudge did not."""
    try:
        send_waiting_mail()
    except Exception:  # noqa: BLE001 - a failed nudge must not fail the request that committed
        log.exception("mail nudge failed; the periodic drain will send the mail")



outbox.on_commit(PREFIX, nudge)

mail_cli = AppGroup("mail", help="Thư điện tử / e-mail: send what waits in the outbox, test the settings.")


@mail_cli.command("drain")
def drain_command() -> None:
    """Gửi các thư đang chờ / Send the e-mails waiting in the outbox (the worker does it every minute)."""
    from portal.extensions import db

    report = drain_mail(db.session)
    click.echo(report.summary())
    if report.unavailable:
        raise SystemExit(1)


@mail_cli.command("send-test")
@click.argument("address")
def send_test_command(address: str) -> None:
    """Gửi thư thử / Send a test message to ADDRESS with the MAIL_* settings."""
    mail.send_test(address)
