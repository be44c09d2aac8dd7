"""The e-mail telling a requester about one event of their request, in Vietnamese.

Each event kind has a text and an HTML template, ``templates/mail/copy_request_<kind>.txt/.html``
(kinds: submitted, assigned, issued, delivered, rejected, cancelled). E-mail is not a secure
channel: a mail names the request, the kind of document and the unit, never the holder's id
number or the result's content. The mail is Vietnamese whatever language the acting clerk
uses, like the copy itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from portal import clock, mail
from portal.copy_requests.models import ELECTRONIC_KINDS, CopyKind, CopyRequest, CopyRequestEvent
from portal.copy_requests.workflow import Action, State
from portal.db import utcnow

#: Template (and subject) per action of an event.
KINDS = {
    "submit": "submitted",
    Action.ASSIGN.value: "assigned",
    Action.ISSUE.value: "issued",
    Action.DELIVER.value: "delivered",
    Action.REJECT.value: "rejected",
    Action.CANCEL.value: "cancelled",
}

SUBJECTS = {
    "submitted": "Đã nhận yêu cầu cấp bản sao {reference}",
    "assigned": "Yêu cầu {reference} đang được xử lý",
    "issued": "Bản sao theo yêu cầu {reference} đã được cấp",
    "delivered": "Bản sao theo yêu cầu {reference} đã được giao",
    "delivered_post": "Bản sao theo yêu cầu {reference} đã được gửi qua bưu chính",
    "rejected": "Yêu cầu {reference} không được chấp nhận",
    "cancelled": "Yêu cầu {reference} đã được hủy",
}

KIND_LABELS = {
    CopyKind.ELECTRONIC: "Bản sao điện tử từ sổ gốc",
    CopyKind.CERTIFIED: "Bản sao điện tử có chứng thực",
    CopyKind.PAPER_DESK: "Bản sao giấy, nhận tại bộ phận một cửa",
    CopyKind.PAPER_POST: "Bản sao giấy, gửi qua bưu chính công ích",
}


def kind_of(event: CopyRequestEvent) -> str | None:
    """The mail an event calls for, or None for events the requester need not hear about:
    a reassignment to another clerk, and the "delivered" step of an electronic copy (their own
    download delivers it)."""
    kind = KINDS.get(event.action)
    if kind == "assigned" and event.from_state == State.IN_PROGRESS.value:
        return None
    if kind == "delivered" and event.request.kind in ELECTRONIC_KINDS:
        return None
    return kind


def render(session: Session, event: CopyRequestEvent, payload: dict[str, Any] | None = None, *,
           now: datetime | None = None) -> EmailMessage | None:
    """The message about ``event`` to the request's e-mail address, or None when there is
    nothing to send (see `kind_of`; no address). Raises ValueError for an unusable address."""
    request = event.request
    kind = kind_of(event)
    if kind is None or not request.email:
        return None
    config = current_app.config
    now = now or utcnow()
    context = _context(event, request, payload or {}, config, now)
    subject_key = "delivered_post" if kind == "delivered" and request.kind == CopyKind.PAPER_POST else kind
    subject = SUBJECTS[subject_key].format(reference=request.reference)
    # Labels defined with lazy_gettext elsewhere (reject reasons) must come out in Vietnamese
    # even when a clerk working in English triggered the mail inline.
    with force_locale("vi"):
        context["reason"] = _reason_label(request.reject_reason)
        text = render_template(f"mail/copy_request_{kind}.txt", subject=subject, **context)
        html = render_template(f"mail/copy_request_{kind}.html", subject=subject, **context)
    return mail.build_message(request.email, subject, _tidy(text), html, config=config, now=now,
                              message_id=message_id(event, config))


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    """The mail of an outbox item of topic "email.copy_request" (key = the event's id)."""
    event = session.get(CopyRequestEvent, int(key)) if key.isdecimal() else None
    return render(session, event, payload, now=now) if event is not None else None


def message_id(event: CopyRequestEvent, config) -> str:
    # Stable per event: if a crash makes the drain send a mail twice, clients show it once.
    return f"<copy-request-event-{event.id}.{event.request.reference}@{mail.sender_domain(config)}>"


def _context(event: CopyRequestEvent, request: CopyRequest, payload: dict[str, Any], config,
             now: datetime) -> dict[str, Any]:
    signing = _signing()
    base = mail.public_base_url(config)
    context: dict[str, Any] = {
        "request": request,
        "event": event,
        "greeting_name": request.requester.name or "ông/bà",
        "document": request.record.doc_type_name,
        "kind_label": KIND_LABELS.get(request.kind, request.kind),
        "event_time": clock.spoken(event.at),
        "due_date": clock.spoken(request.due_at),
        "fee": fee_text(request.fee_vnd),
        "tracking_code": payload.get("tracking_code", ""),
        "tracking_url": f"{base}/copy-requests/track",
        "request_url": f"{base}/copy-requests/{request.reference}",
        "rating_url": f"{base}/copy-requests/{request.reference}/rating",
        "note": request.reject_note or event.note,
        "download_url": "",
        "verify_url": "",
        "link_expires": "",
    }
    if (signing and event.action == Action.ISSUE.value and request.kind in ELECTRONIC_KINDS
            and request.issued):
        issued = request.issued[-1]
        context["download_url"] = signing.download_url(issued, config=config)
        context["verify_url"] = signing.verify_url(issued.code, config)
        minutes = int(config["COPY_LINK_MINUTES"])
        context["link_expires"] = clock.spoken(now + timedelta(minutes=minutes))
    return context


def _signing():
    # Signed copies and their expiring links; imported late (it brings the PDF stack), and only
    # when installed: without it, mails link to the request page.
    if importlib.util.find_spec("portal.copy_requests.signing") is None:
        return None
    return importlib.import_module("portal.copy_requests.signing")


def _reason_label(code: str) -> str:
    if not code:
        return "Không nêu lý do"
    try:
        from portal.copy_requests.processing import REJECT_REASONS
    except ImportError:  # the workbench is not installed: show the code as stored
        return code
    label = REJECT_REASONS.get(code)
    return str(label) if label is not None else code


def fee_text(fee_vnd: int) -> str:
    """ "12.000 đồng", or "Miễn phí"."""
    if not fee_vnd:
        return "Miễn phí"
    return f"{fee_vnd:,}".replace(",", ".") + " đồng"


def _tidy(text: str) -> str:
    # Template tags leave blank lines behind; a mail reads better with at most one in a row.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
