"""The access log people can read: who looked at their personal results, when, why and how.

Every view, download, search hit and export of a *personal* result by anyone but its subject
is written through `record_access`, in the caller's transaction, onto the audit chain. The
subject's own looks are not logged: the page answers "who else".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit
from portal.api_keys.models import ApiKey
from portal.audit import AuditEntry
from portal.identity.models import Citizen, StaffUser
from portal.paging import Paged
from portal.records.access import is_subject
from portal.records.models import Access, Record

#: action → what the person reads on their page (msgids; translated in the template).
ACTIONS = ("record.view", "record.download", "record.search_hit", "record.export", "copy.verify",
           "record.status_check")


def actor_name(actor: object | None) -> str:
    return getattr(actor, "audit_name", None) or "anonymous"


#: What a reader is taken to be doing when they gave no purpose of their own.
DEFAULT_PURPOSE = {"citizen": "tra cứu trên cổng", "staff": "giải quyết công việc của bộ phận một cửa",
                   "anonymous": "tra cứu công khai", "apikey": "kiểm tra qua API"}


def record_access(session: Session, actor: object | None, record: Record, action: str, *,
                  channel: str = "web", purpose: str = "", details: dict | None = None,
                  personal_data: bool | None = None) -> None:
    """Log one access to ``record``'s personal data by anyone but its subject.

    ``personal_data``: whether this access showed personal data (the holder's id number, a
    personal result's content or scans); by default, whether the result is personal.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown access action {action!r}")
    shown = record.access == Access.PERSONAL if personal_data is None else personal_data
    if not shown or is_subject(actor, record):
        return
    purpose = purpose or DEFAULT_PURPOSE[actor_name(actor).split(":")[0]]
    audit.record(session, actor_name(actor), action, f"record:{record.source_id}", channel=channel,
                 purpose=purpose, details=details, subject_id=record.subject_id)


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    action: str
    channel: str
    purpose: str
    #: Who, as the person may know it: a staff member's name and role, an API key's organization,
    #: or "anonymous", "citizen".
    who: str
    who_kind: str
    source_id: str
    doc_type_name: str


@dataclass(frozen=True)
class AccessPage(Paged):
    rows: list[AccessRow]
    total: int
    page: int
    per_page: int



def list_for_citizen(session: Session, citizen: Citizen, *, page: int = 1, per_page: int = 50) -> AccessPage:
    """Accesses to the personal results of ``citizen`` (and of the organization they represent)."""
    subjects = citizen.subject_ids
    if not subjects:
        return AccessPage([], 0, page, per_page)
    where = AuditEntry.subject_id.in_(subjects)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(where)) or 0
    entries = session.scalars(select(AuditEntry).where(where).order_by(AuditEntry.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    source_ids = {e.object_ref.removeprefix("record:") for e in entries}
    types = dict(session.execute(select(Record.source_id, Record.doc_type_name)
                                 .where(Record.source_id.in_(source_ids))).all()) if source_ids else {}
    staff_ids = {int(e.actor.split(":")[1]) for e in entries if e.actor.startswith("staff:")}
    staff = {s.id: s for s in session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))} \
        if staff_ids else {}
    key_ids = {int(e.actor.split(":")[1]) for e in entries if e.actor.startswith("apikey:")}
    organizations = dict(session.execute(select(ApiKey.id, ApiKey.organization)
                                         .where(ApiKey.id.in_(key_ids))).all()) if key_ids else {}
    rows = []
    for entry in entries:
        kind, _, raw = entry.actor.partition(":")
        who = ""
        if kind == "staff" and raw.isdecimal() and int(raw) in staff:
            who = staff[int(raw)].full_name
        elif kind == "apikey" and raw.isdecimal():
            who = organizations.get(int(raw), "")  # the organization the key was issued to
        source_id = entry.object_ref.removeprefix("record:")
        rows.append(AccessRow(at=entry.at, action=entry.action, channel=entry.channel, purpose=entry.purpose,
                              who=who, who_kind=kind, source_id=source_id,
                              doc_type_name=types.get(source_id, "")))
    return AccessPage(rows, total, page, per_page)
