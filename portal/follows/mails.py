"""The mail about one event of a followed result (topic "email.follow"): Vietnamese, then English.

One template, ``templates/mail/follow_notice.txt``, with a paragraph per kind of event (see
`portal.follows.events`). Every mail carries the signed unfollow link, also as List-Unsubscribe
with List-Unsubscribe-Post (RFC 8058), so a mail client's "unsubscribe" works in one click.
E-mail is not a secure channel: a personal result is named by its type, unit and dates only,
never by its number or content, nor the holder's id number.
"""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from sqlalchemy.orm import Session

from portal import clock, mail
from portal.follows.links import catalogue_url, unfollow_url
from portal.follows.models import FollowNotice
from portal.records.access import is_subject
from portal.records.models import Access, Record, ResultStatus, StatusChange

TOPIC = "email.follow"

#: A status in each language, as the mail's sentences use it.
STATUS_WORDS = {
    ResultStatus.VALID: ("còn hiệu lực", "valid"),
    ResultStatus.EXPIRED: ("hết hiệu lực", "expired"),
    ResultStatus.REVOKED: ("bị thu hồi", "revoked"),
    ResultStatus.REPLACED: ("được thay thế", "replaced"),
    ResultStatus.ANNULLED: ("bị hủy bỏ", "annulled"),
}

SUBJECTS = {
    "expiry": ("Kết quả ông/bà theo dõi sắp hết hiệu lực ({days} ngày)",
               "A result you follow expires in {days} days"),
    "status": ("Kết quả ông/bà theo dõi đã {status_vi}", "A result you follow was {status_en}"),
    "correction": ("Kết quả ông/bà theo dõi đã được đính chính", "A result you follow was corrected"),
    "replacement": ("Đã có kết quả thay thế kết quả ông/bà theo dõi",
                    "A result replacing the one you follow has arrived"),
}


def dmy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def describe(record: Record) -> str:
    """How a mail names a result: its number only when it is public."""
    number = f" số {record.number_display}" if record.access == Access.PUBLIC else ""
    return f"{record.doc_type_name}{number} ({record.issuing_unit.name}, {dmy(record.issued_date)})"


#: Statuses after which the holder needs the result issued again.
ENDED = {ResultStatus.EXPIRED, ResultStatus.REVOKED, ResultStatus.ANNULLED}


def needs_renewal(event: dict[str, Any]) -> bool:
    """Reminders and ends of validity link the renewal procedure; a correction or a replacement
    that has arrived do not."""
    return event["kind"] == "expiry" or (event["kind"] == "status" and event["status"] in ENDED)


def _event_context(session: Session, notice: FollowNotice) -> dict[str, Any] | None:
    kind, _, rest = notice.event_key.partition(":")
    if kind == "expiry":
        days, _, valid_to = rest.partition(":")
        return {"kind": kind, "days": int(days), "valid_to": dmy(date.fromisoformat(valid_to))}
    if kind == "status":
        change = session.get(StatusChange, int(rest))
        if change is None:
            return None
        status_vi, status_en = STATUS_WORDS.get(change.new_status, (change.new_status, change.new_status))
        return {"kind": kind, "status_vi": status_vi, "status_en": status_en, "status": change.new_status,
                "at": clock.spoken(change.changed_at),
                "at_en": clock.in_hanoi(change.changed_at).strftime("%d/%m/%Y %H:%M")}
    if kind == "correction":
        return {"kind": kind}
    if kind == "replacement":
        replacing = session.get(Record, int(rest))
        if replacing is None:
            return None
        citizen = notice.follow.citizen
        shown = replacing.access == Access.PUBLIC or is_subject(citizen, replacing)
        return {"kind": kind, "replacing": describe(replacing) if shown else "",
                "replacing_path": f"/results/{replacing.source_id}" if shown else ""}
    return None


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    """The mail of one queued notice (key = its id); None when the follow was stopped meanwhile."""
    notice = session.get(FollowNotice, int(key)) if key.isdecimal() else None
    if notice is None or notice.follow is None:
        return None
    event = _event_context(session, notice)
    if event is None:
        return None
    config = current_app.config
    follow, record = notice.follow, notice.follow.record
    base = mail.public_base_url(config)
    leave = unfollow_url(follow.id, follow.link_nonce, config)
    vi, en = SUBJECTS[event["kind"]]
    subject = f"{vi.format(**event)} / {en.format(**event)}"
    renewal = catalogue_url(record.procedure, config) if needs_renewal(event) else ""
    text = render_template("mail/follow_notice.txt", event=event, result=describe(record),
                           result_url=f"{base}/results/{record.source_id}",
                           base=base, renewal_url=renewal, procedure=record.procedure,
                           follows_url=f"{base}/my/follows", unfollow_url=leave)
    message = mail.build_message(follow.email, subject, text.strip() + "\n", config=config, now=now,
                                 message_id=f"<follow-notice-{notice.id}@{mail.sender_domain(config)}>")
    message["List-Unsubscribe"] = f"<{leave}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message
