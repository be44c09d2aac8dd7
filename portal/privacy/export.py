"""Everything the portal holds about one person, as sections: the JSON download, the PDF, and the
counts on /my/data.

A section is one small function (`SECTIONS`): ``rows(session, who)`` gives the rows, each a dict
of JSON values, read in pages of PAGE rows by keyset (bounded memory, a fixed number of queries
per page: no query per row) and at most MAX_ROWS per section (``truncated`` says when there were
more). Adding what a new area keeps about people is adding one function to the list.

Never in an export: scan bytes (results list their documents by SHA-256), session token hashes,
tracking-code hashes, other people's data (an access-log entry names a staff reader by name only,
as the "who looked at my data" page does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from portal.audit import AuditEntry
from portal.copy_requests.models import CopyRequest
from portal.counter.models import CounterSession
from portal.db import utcnow
from portal.feedback.models import Petition, ProblemReport, Rating
from portal.follows.models import Follow
from portal.identity.models import Citizen, LoginSession, StaffUser, Subject
from portal.privacy.models import DataRightsRequest
from portal.records.models import Record
from portal.sharing.models import ShareLink

SCHEMA = "portal.personal-data/1"
#: Rows read per query.
PAGE = 500
#: Rows per section in one export; more are counted, not listed.
MAX_ROWS = 5000


def iso(value: Any) -> Any:
    """ISO 8601 for dates and moments (aware, UTC offset kept), the value itself otherwise."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Who:
    """The person an export is about: the account asking, every account of the same person, and
    the subjects whose results those accounts may read (the person, an organization represented)."""

    citizen: Citizen
    account_ids: frozenset[int]
    subject_ids: frozenset[int]

    @classmethod
    def of(cls, session: Session, citizen: Citizen) -> Who:
        accounts = {citizen.id}
        if citizen.subject_id is not None:
            same_person = select(Citizen.id).where(Citizen.subject_id == citizen.subject_id)
            accounts |= set(session.scalars(same_person))
        return cls(citizen, frozenset(accounts), frozenset(citizen.subject_ids or {-1}))


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    #: The rows' query, without order or limit: ``query(who)``; its entity has an ``id`` column.
    query: Callable[[Who], Select]
    #: One row as JSON: ``row(item)``.
    row: Callable[[Any], dict]
    #: Query options loading what ``row`` reads (selectin: one query per page, never per row).
    options: tuple = ()
    #: After each page: extra facts for its rows in one query, ``enrich(session, rows, items)``.
    enrich: Callable[[Session, list[dict], list[Any]], None] | None = None


def _entity(statement: Select):
    return statement.column_descriptions[0]["entity"]


def _count(session: Session, section: Section, who: Who) -> int:
    statement = section.query(who)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def _rows(session: Session, section: Section, who: Who) -> Iterator[dict]:
    entity = _entity(section.query(who))
    last, given = 0, 0
    while given < MAX_ROWS:
        items = session.scalars(section.query(who).where(entity.id > last).options(*section.options)
                                .order_by(entity.id).limit(min(PAGE, MAX_ROWS - given))).unique().all()
        if not items:
            return
        rows = [section.row(item) for item in items]
        if section.enrich is not None:
            section.enrich(session, rows, items)
        yield from rows
        given += len(items)
        last = items[-1].id
        if len(items) < PAGE:
            return


# -- the sections ---------------------------------------------------------------------------------


def _accounts(who: Who) -> Select:
    return select(Citizen).where(Citizen.id.in_(who.account_ids))


def _account_row(account: Citizen) -> dict:
    return {"id": account.id, "issuer": account.issuer, "sub": account.sub,
            "account_type": account.account_type, "name": account.name, "loa": account.loa,
            "created_at": iso(account.created_at), "last_login_at": iso(account.last_login_at),
            "this_login": None}


def _subjects(who: Who) -> Select:
    return select(Subject).where(Subject.id.in_(who.subject_ids))


def _subject_row(subject: Subject) -> dict:
    return {"id": subject.id, "kind": subject.kind, "id_number": subject.id_number, "name": subject.name,
            "birth_date": iso(subject.birth_date)}


def _results(who: Who) -> Select:
    return select(Record).where(Record.subject_id.in_(who.subject_ids))


def _result_row(record: Record) -> dict:
    return {"source_id": record.source_id, "subject_id": record.subject_id, "access": record.access,
            "procedure_code": record.procedure_code, "doc_type_name": record.doc_type_name,
            "number": record.number_display, "dossier_code": record.dossier_code,
            "issued_date": iso(record.issued_date), "issuer_name": record.issuer_name,
            "issuing_unit": record.issuing_unit.name, "signer_name": record.signer_name,
            "signer_title": record.signer_title, "summary": record.summary, "scope": record.scope,
            "valid_from": iso(record.valid_from), "valid_to": iso(record.valid_to), "status": record.status,
            "status_changed_at": iso(record.status_changed_at),
            "replaces_source_id": record.replaces_source_id,
            "documents": [{"position": f.position, "role": f.role, "sha256": f.document_sha256}
                          for f in record.files]}


def _copy_requests(who: Who) -> Select:
    return select(CopyRequest).where(CopyRequest.requester_id.in_(who.account_ids))


def _copy_request_row(request: CopyRequest) -> dict:
    return {"reference": request.reference, "result": request.record.source_id, "kind": request.kind,
            "copies": request.copies, "purpose": request.purpose,
            "delivery_address": request.delivery_address,
            "email": request.email, "pages": request.pages, "fee_vnd": request.fee_vnd,
            "state": request.state,
            "submitted_at": iso(request.submitted_at), "due_at": iso(request.due_at),
            "closed_at": iso(request.closed_at), "tracking_number": request.tracking_number,
            "events": [{"at": iso(e.at), "action": e.action, "from_state": e.from_state,
                        "to_state": e.to_state, "note": e.note} for e in request.events]}


def _problem_reports(who: Who) -> Select:
    return select(ProblemReport).where(ProblemReport.reporter_id.in_(who.account_ids))


def _problem_report_row(report: ProblemReport) -> dict:
    return {"reference": report.reference, "result": report.record.source_id, "kind": report.kind,
            "description": report.description, "reporter_name": report.reporter_name,
            "reporter_email": report.reporter_email,
            "attachment": ({"name": report.attachment_name, "media_type": report.attachment_media_type,
                            "sha256": report.attachment_sha256} if report.attachment_sha256 else None),
            "state": report.state, "resolution_note": report.resolution_note,
            "created_at": iso(report.created_at), "resolved_at": iso(report.resolved_at)}


def _petitions(who: Who) -> Select:
    return select(Petition).where(Petition.citizen_id.in_(who.account_ids))


def _petition_row(petition: Petition) -> dict:
    return {"reference": petition.reference, "about": petition.about, "category": petition.category,
            "title": petition.title, "content": petition.content, "sender_name": petition.sender_name,
            "sender_address": petition.sender_address, "sender_phone": petition.sender_phone,
            "sender_email": petition.sender_email, "state": petition.state,
            "received_at": iso(petition.received_at), "due_at": iso(petition.due_at),
            "answer": petition.answer, "answered_at": iso(petition.answered_at)}


def _ratings(who: Who) -> Select:
    return select(Rating).where(Rating.citizen_id.in_(who.account_ids))


def _rating_row(rating: Rating) -> dict:
    return {"copy_request_id": rating.copy_request_id, "scale": rating.scale_id, "comment": rating.comment,
            "scores": {s.criterion: s.value for s in rating.scores},
            "created_at": iso(rating.created_at), "updated_at": iso(rating.updated_at)}


def _follows(who: Who) -> Select:
    return select(Follow).where(Follow.citizen_id.in_(who.account_ids))


def _follow_row(follow: Follow) -> dict:
    return {"result": follow.record.source_id, "email": follow.email, "created_at": iso(follow.created_at)}


def _access_log(who: Who) -> Select:
    return select(AuditEntry).where(AuditEntry.subject_id.in_(who.subject_ids))


def _access_row(entry: AuditEntry) -> dict:
    kind = entry.actor.partition(":")[0]
    return {"at": iso(entry.at), "action": entry.action, "object": entry.object_ref, "channel": entry.channel,
            "purpose": entry.purpose, "who_kind": kind, "who": ""}


def _name_staff_readers(session: Session, rows: list[dict], items: list[AuditEntry]) -> None:
    """Staff readers by name, one query for the page (the entry keeps "staff:<id>")."""
    ids = {int(raw) for e in items for kind, _, raw in [e.actor.partition(":")]
           if kind == "staff" and raw.isdecimal()}
    names = {}
    if ids:
        staff = select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(ids))
        names = dict(session.execute(staff).all())
    for row, entry in zip(rows, items, strict=True):
        kind, _, raw = entry.actor.partition(":")
        if kind == "staff" and raw.isdecimal():
            row["who"] = names.get(int(raw), "")


def _sessions(who: Who) -> Select:
    return select(LoginSession).where(LoginSession.citizen_id.in_(who.account_ids))


def _session_row(login: LoginSession) -> dict:  # never the token's hash
    return {"account_id": login.citizen_id, "created_at": iso(login.created_at),
            "last_seen_at": iso(login.last_seen_at), "ended_at": iso(login.ended_at),
            "ended_reason": login.ended_reason, "user_agent": login.user_agent}


def _rights_requests(who: Who) -> Select:
    return select(DataRightsRequest).where(DataRightsRequest.citizen_id.in_(who.account_ids))


def _rights_row(request: DataRightsRequest) -> dict:
    return {"reference": request.reference, "kind": request.kind, "scope": request.scope,
            "reason": request.reason, "email": request.email, "case_reference": request.case_reference,
            "state": request.state, "received_at": iso(request.received_at),
            "acknowledge_by": iso(request.acknowledge_by), "due_at": iso(request.due_at),
            "answered_at": iso(request.answered_at), "answer": request.answer}


def _share_links(who: Who) -> Select:
    return select(ShareLink).where(ShareLink.citizen_id.in_(who.account_ids))


def _share_row(link: ShareLink) -> dict:  # never the token's hash
    return {"result": link.record.source_id, "recipient": link.recipient, "fields": list(link.fields or []),
            "created_at": iso(link.created_at), "expires_at": iso(link.expires_at), "one_time": link.one_time,
            "used_at": iso(link.used_at), "revoked_at": iso(link.revoked_at), "openings": link.openings,
            "last_opened_at": iso(link.last_opened_at)}


def _counter_sessions(who: Who) -> Select:
    return select(CounterSession).where(CounterSession.subject_id.in_(who.subject_ids))


def _counter_row(visit: CounterSession) -> dict:  # never the one-time code's hash
    return {"unit": visit.unit.name, "clerk": visit.staff.full_name, "state": visit.state,
            "consent_method": visit.consent_method, "contact_email": visit.contact_email,
            "consent_form": ({"media_type": visit.consent_media_type, "sha256": visit.consent_sha256}
                             if visit.consent_sha256 else None),
            "created_at": iso(visit.created_at), "started_at": iso(visit.started_at),
            "expires_at": iso(visit.expires_at), "ended_at": iso(visit.ended_at),
            "ended_reason": visit.ended_reason}


SECTIONS: list[Section] = [
    Section("accounts", _l("Login accounts"), _accounts, _account_row),
    Section("subjects", _l("Identity (the person and organizations represented)"), _subjects, _subject_row),
    Section("results", _l("Results about you"), _results, _result_row,
            options=(selectinload(Record.files),)),
    Section("copy_requests", _l("Copy requests"), _copy_requests, _copy_request_row,
            options=(selectinload(CopyRequest.events), selectinload(CopyRequest.record))),
    Section("problem_reports", _l("Problem reports and corrections asked for"), _problem_reports,
            _problem_report_row, options=(selectinload(ProblemReport.record),)),
    Section("petitions", _l("Petitions sent while logged in"), _petitions, _petition_row),
    Section("ratings", _l("Ratings"), _ratings, _rating_row),
    Section("follows", _l("Results followed"), _follows, _follow_row),
    Section("share_links", _l("Share links you made"), _share_links, _share_row),
    Section("counter_sessions", _l("Assisted sessions at the counter"), _counter_sessions, _counter_row),
    Section("access_log", _l("Who looked at your data"), _access_log, _access_row,
            enrich=_name_staff_readers),
    Section("login_sessions", _l("Login sessions"), _sessions, _session_row),
    Section("rights_requests", _l("Your personal-data requests"), _rights_requests, _rights_row),
]


def counts(session: Session, citizen: Citizen) -> dict[str, int]:
    """Rows per section (the /my/data page): one count query each."""
    who = Who.of(session, citizen)
    return {section.key: _count(session, section, who) for section in SECTIONS}


@dataclass
class Export:
    data: dict
    counts: dict[str, int] = field(default_factory=dict)


def build(session: Session, citizen: Citizen, *, controller: dict, now: datetime | None = None) -> Export:
    """Everything about ``citizen`` as the JSON document (schema SCHEMA)."""
    who = Who.of(session, citizen)
    sections, counted = {}, {}
    for section in SECTIONS:
        items = list(_rows(session, section, who))
        total = len(items) if len(items) < MAX_ROWS else _count(session, section, who)
        sections[section.key] = {"title": str(section.title), "count": total,
                                 "truncated": total > len(items), "items": items}
        counted[section.key] = total
    for row in sections["accounts"]["items"]:
        row["this_login"] = row["id"] == citizen.id
    data = {"schema": SCHEMA, "generated_at": iso(now or utcnow()), "controller": controller,
            "account_id": citizen.id, "sections": sections}
    return Export(data=data, counts=counted)
