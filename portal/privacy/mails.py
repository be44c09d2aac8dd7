"""The mail telling a person their rights request was answered (topic "email.privacy"),
Vietnamese then English. It names the request and the answer, never the person's id number."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from sqlalchemy.orm import Session

from portal import clock, mail
from portal.privacy.models import DataRightsRequest, RightsState

TOPIC = "email.privacy"


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    request = session.get(DataRightsRequest, int(key)) if key.isdecimal() else None
    if request is None or not request.email:
        return None
    config = current_app.config
    refused = request.state == RightsState.REFUSED.value
    subject = (f"Yêu cầu {request.reference} về dữ liệu cá nhân đã được trả lời / "
               f"Your personal-data request {request.reference} was answered")
    text = render_template("mail/privacy_answer.txt", request=request, refused=refused,
                           at=clock.spoken(request.answered_at), base=mail.public_base_url(config),
                           contact=config["PRIVACY_CONTACT_EMAIL"])
    return mail.build_message(request.email, subject, text.strip() + "\n", config=config, now=now,
                              message_id=f"<privacy-{request.id}@{mail.sender_domain(config)}>")
