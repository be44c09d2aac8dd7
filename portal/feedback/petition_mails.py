"""The e-mails petition senders get: received (with the tracking code), answered, declined.

Queued by the services (`feedback.mails.queue(session, "petition", what, id, payload)`) in the
transaction of the change; rendered here by the feedback mail drain, in Vietnamese.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from sqlalchemy.orm import Session

from portal import clock, mail
from portal.feedback import mails
from portal.feedback.models import Petition
from portal.feedback.petition_processing import decline_reason

SUBJECTS = {
    "received": "Đã nhận phản ánh, kiến nghị {reference}",
    "answered": "Trả lời phản ánh, kiến nghị {reference}",
    "declined": "Về phản ánh, kiến nghị {reference}",
}
#: What the sender reads about a declined message, by reason code (Vietnamese: mail is Vietnamese).
DECLINE_GUIDANCE_VI = {
    "complaint": "Nội dung ông/bà gửi là khiếu nại, không phải phản ánh, kiến nghị về quy định hành chính. "
                 "Khiếu nại được giải quyết theo Luật Khiếu nại năm 2011: xin gửi đơn khiếu nại đến cơ quan, "
                 "người có thẩm quyền giải quyết (thường là thủ trưởng cơ quan đã ra quyết định "
                 "hoặc có hành vi bị khiếu nại).",
    "denunciation": "Nội dung ông/bà gửi là tố cáo, không phải phản ánh, kiến nghị về quy định hành chính. "
                    "Tố cáo được giải quyết theo Luật Tố cáo năm 2018: xin gửi đơn tố cáo đến cơ quan, "
                    "tổ chức, cá nhân có thẩm quyền giải quyết tố cáo.",
    "no_content": "Phản ánh, kiến nghị không nêu rõ nội dung về quy định hành chính hoặc việc thực hiện quy "
                  "định hành chính nên không thể xử lý. Ông/bà có thể gửi lại với nội dung cụ thể hơn.",
    "duplicate": "Nội dung này trùng với một phản ánh, kiến nghị đã được tiếp nhận và đang hoặc đã được "
                 "xử lý; cơ quan sẽ không xử lý lại.",
}


def render_mail(session: Session, what: str, object_id: int, payload: dict,
                now: datetime) -> EmailMessage | None:
    """The mail "received" (with the tracking code of ``payload``), "answered" or "declined" to the
    sender's e-mail address; None when there is nothing to send."""
    petition = session.get(Petition, object_id)
    if petition is None or not petition.sender_email or what not in SUBJECTS:
        return None
    base = mail.public_base_url(current_app.config)
    context = {
        "petition": petition,
        "greeting_name": petition.sender_name or "ông/bà",
        "unit_name": petition.unit.name if petition.unit else "Ủy ban nhân dân thành phố Hà Nội",
        "received_time": clock.spoken(petition.received_at),
        "due_date": clock.spoken(petition.due_at),
        "answered_time": clock.spoken(petition.answered_at),
        "tracking_code": (payload or {}).get("tracking_code", ""),
        "tracking_url": f"{base}/feedback/petitions/track",
        "answer_url": f"{base}/feedback/answers/{petition.reference}" if petition.published else "",
        "guidance": DECLINE_GUIDANCE_VI.get(decline_reason(petition), ""),
    }
    subject = SUBJECTS[what].format(reference=petition.reference)
    return mails.compose(petition.sender_email, f"petition_{what}", subject, context,
                         message_id_key=f"petition-{what}-{petition.id}.{petition.reference}", now=now)
