"""The area's mails (topic "email.counter"): the one-time consent code, and the summary of a session
once it ended. Vietnamese, then English. E-mail is not a secure channel: results are named by their
type, unit and date, never by their number or content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import clock, mail
from portal.counter import services
from portal.counter.models import CounterSession, CounterState
from portal.records.models import Record

#: What each action is called in the summary: (Vietnamese, English).
ACTION_WORDS = {
    "record.view": ("Xem kết quả", "Viewed the result"),
    "counter.copy_request": ("Đề nghị cấp bản sao", "Requested a copy"),
    "counter.rate": ("Đánh giá mức độ hài lòng", "Rated the handling of a request"),
}
REASON_WORDS = {
    "clerk": ("cán bộ kết thúc phiên", "the officer ended the session"),
    "expired": ("hết thời gian", "its time ran out"),
    "replaced": ("cán bộ mở phiên khác", "the officer opened another session"),
}


@dataclass(frozen=True)
class SummaryLine:
    at: str
    vi: str
    en: str
    result: str
    reference: str


@dataclass(frozen=True)
class Summary:
    counter: CounterSession
    lines: list[SummaryLine]
    started: str
    ended: str
    reason_vi: str
    reason_en: str


def summarize(session: Session, counter: CounterSession) -> Summary:
    """What the person is told about a session: who, where, when, and each action."""
    done = services.actions(session, counter)
    ids = {a.source_id for a in done}
    records = {r.source_id: r for r in session.scalars(select(Record).where(Record.source_id.in_(ids)))} \
        if ids else {}
    lines = []
    for action in done:
        vi, en = ACTION_WORDS.get(action.action, (action.action, action.action))
        record = records.get(action.source_id)
        described = f"{record.doc_type_name} ({record.issuing_unit.name}, {_dmy(record)})" if record else ""
        lines.append(SummaryLine(at=clock.in_hanoi(action.at).strftime("%H:%M"), vi=vi, en=en,
                                 result=described, reference=str(action.details.get("copy_request", ""))))
    reason_vi, reason_en = REASON_WORDS.get(counter.ended_reason or "", ("", ""))
    return Summary(counter=counter, lines=lines, started=clock.spoken(counter.started_at),
                   ended=clock.spoken(counter.ended_at), reason_vi=reason_vi, reason_en=reason_en)


def _dmy(record: Record) -> str:
    return record.issued_date.strftime("%d/%m/%Y") if record.issued_date else ""


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    kind, _, raw = key.partition(":")
    counter = session.get(CounterSession, int(raw)) if raw.isdecimal() else None
    if counter is None or not counter.contact_email:
        return None
    config = current_app.config
    base = mail.public_base_url(config)
    domain = mail.sender_domain(config)
    if kind == "code":
        minutes = int(config["COUNTER_CODE_MINUTES"])
        sent = counter.code_sent_at
        if counter.state != CounterState.PENDING or sent is None or now > sent + timedelta(minutes=minutes):
            return None  # used, ended or stale: a late code would only confuse
        text = render_template("mail/counter_code.txt", counter=counter, code=payload.get("code", ""),
                               minutes=minutes, base=base)
        return mail.build_message(counter.contact_email, "Mã xác nhận đồng ý tại bộ phận một cửa / "
                                  "Your consent code at the one-stop desk", text.strip() + "\n",
                                  config=config, now=now,
                                  message_id=f"<counter-code-{counter.id}-{payload.get('sends', 0)}"
                                             f"@{domain}>")
    if kind == "summary":
        text = render_template("mail/counter_summary.txt", summary=summarize(session, counter), base=base)
        return mail.build_message(counter.contact_email, "Những việc cán bộ một cửa đã làm thay ông/bà / "
                                  "What the one-stop desk did for you", text.strip() + "\n",
                                  config=config, now=now,
                                  message_id=f"<counter-summary-{counter.id}@{domain}>")
    return None
