"""The e-mails a requester of digitization gets: received (with the tracking code), answered.

Queued by `digitization` in the transaction of the change (outbox topic ``email.coverage``, key
"<what>:<request id>"); rendered here by the mail drain, in Vietnamese, with the feedback area's
`compose` (same layout and Message-ID rule).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal import clock, mail
from portal.coverage.models import DigitizationRequest, RequestState
from portal.feedback.mails import compose

SUBJECTS = {
    "received": "Đã nhận đề nghị số hóa {reference}",
    "answered": "Trả lời đề nghị số hóa {reference}",
}
#: What the requester reads, by outcome (mail is Vietnamese).
OUTCOMES_VI = {
    RequestState.DIGITIZED.value: "Kết quả ông/bà đề nghị đã được số hóa và có trên Cổng.",
    RequestState.NOT_FOUND.value: (
        "Đơn vị không tìm thấy kết quả ông/bà đề nghị trong lưu trữ, nên chưa thể số hóa."
    ),
    RequestState.NOT_OURS.value: (
        "Theo hồ sơ lưu trữ, kết quả ông/bà đề nghị không do đơn vị này cấp. "
        "Xin kiểm tra lại đơn vị cấp và gửi đề nghị mới nếu cần."
    ),
}


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    what, _, object_id = key.partition(":")
    request = session.get(DigitizationRequest, int(object_id)) if object_id.isdecimal() else None
    if request is None or not request.requester_email or what not in SUBJECTS:
        return None
    base = mail.public_base_url(current_app.config)
    context = {
        "request": request,
        "greeting_name": request.requester_name or "ông/bà",
        "received_time": clock.spoken(request.received_at),
        "tracking_code": (payload or {}).get("tracking_code", ""),
        "tracking_url": f"{base}/digitization-requests/track",
        "outcome": OUTCOMES_VI.get(request.state, ""),
        "result_url": f"{base}/results/{request.record.source_id}" if request.record is not None else "",
    }
    subject = SUBJECTS[what].format(reference=request.reference)
    return compose(
        request.requester_email,
        f"digitization_{what}",
        subject,
        context,
        message_id_key=f"digitization-{what}-{request.id}.{request.reference}",
        now=now,
    )
