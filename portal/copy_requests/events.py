"""Every state change of a copy request goes through `transition`: the state machine decides,
the change is recorded with who and when, and the requester is notified through the outbox,
all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from portal.copy_requests import notifications, workflow
from portal.copy_requests.models import CopyRequest, CopyRequestEvent
from portal.db import utcnow


def transition(session: Session, request: CopyRequest, action: workflow.Action | str, actor: str, *,
               note: str = "", at: datetime | None = None) -> CopyRequestEvent:
    """Apply ``action`` to ``request`` (actor: "citizen:<id>", "staff:<id>" or "system").

    Raises workflow.InvalidTransition when the action is not allowed from the current state.
    The caller checks who may act (requester or staff of the unit) and commits.
    """
    action = workflow.Action(action)
    before = workflow.State(request.state)
    after = workflow.next_state(before, action)
    at = at or utcnow()
    request.state = after.value
    if after in workflow.FINAL:
        request.closed_at = at
    event = CopyRequestEvent(request=request, at=at, action=action.value, from_state=before.value,
                             to_state=after.value, actor=actor, note=note)
    session.add(event)
    session.flush()
    notifications.request_changed(session, request, event)
    return event


def record_submitted(session: Session, request: CopyRequest, actor: str,
                     tracking_code: str = "") -> CopyRequestEvent:
    """The first event of a request (no transition leads into "submitted")."""
    event = CopyRequestEvent(request=request, at=request.submitted_at or utcnow(), action="submit",
                             from_state=None, to_state=workflow.State.SUBMITTED.value, actor=actor)
    session.add(event)
    session.flush()
    notifications.request_changed(session, request, event, {"tracking_code": tracking_code})
    return event
