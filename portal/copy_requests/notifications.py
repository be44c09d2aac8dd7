"""Telling the requester what happened to their request: an e-mail per event, through the outbox.

`request_changed` only writes an outbox row in the caller's transaction (topic "email.copy_request",
key = the event id), so a crash between the change and the e-mail loses nothing; the mail worker
renders and sends it later (see portal/mail.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal import outbox
from portal.copy_requests.models import CopyRequest, CopyRequestEvent

TOPIC = "email.copy_request"


def request_changed(session: Session, request: CopyRequest, event: CopyRequestEvent,
                    payload: dict | None = None) -> None:
    """Queue the e-mail about ``event``. ``payload``: what the mail needs that is not stored, such
    as the tracking code of a new request (kept only until the mail is sent)."""
    if request.email:
        outbox.add(session, TOPIC, event.id, payload)
