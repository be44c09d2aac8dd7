"""Reading results for the public pages: what a visitor may see of a result, and nothing more.

Anonymous visitors (actor ``None``) see every public field of a *public* result (public registers:
building permits, business registrations…). Of a *personal* result they see only its type, its
issuing unit and its validity status: enough to confirm that a result exists and is still valid,
never who it is about or what it says. Whoever `portal.identity.access.may_read_personal` allows
(the subject, their organization's representatives, staff of the unit) sees every field of it,
scans included. Views ask `public_view` instead of deciding themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal import clock, figures
from portal.errors import NotFound
from portal.identity.models import Subject, SubjectKind
from portal.records import access_log
from portal.records.access import may_read_personal
from portal.records.models import Access, Document, Record, RecordFile
from portal.records.queries import ResultList, list_page
from portal.units import services as unit_services
from portal.units.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem
from portal.units.services import successors

#: Shown to anyone for every result, personal ones included.
MINIMAL_FIELDS = frozenset({"doc_type_name", "issuing_unit", "status"})
#: Shown to anyone for public results. Never the holder's id number or birth date, nor the staff
#: member who scanned it: those are personal data even on a public register.
PUBLIC_FIELDS = MINIMAL_FIELDS | {
    "number", "dossier_code", "procedure", "issuer_name", "signer", "issued_date", "valid_from",
    "valid_to", "scope", "summary", "holder_name", "archive", "digitization", "status_history",
    "links", "files",
}


#: Shown to those who may read the personal fields of the result, whether it is public or personal.
FULL_FIELDS = PUBLIC_FIELDS | {"holder_id_number", "holder_birth_date"}


def public_view(record: Record, actor: object | None = None) -> frozenset[str]:
    """The fields ``actor`` may see of ``record`` (actor None: an anonymous visitor)."""
    if actor is not None and may_read_personal(actor, record):
        return FULL_FIELDS
    return PUBLIC_FIELDS if record.access == Access.PUBLIC else MINIMAL_FIELDS


def find_record(session: Session, source_id: str) -> Record | None:
    """The result known by ``source_id``; for an alias (a result merged into another as the same
    result, `records.duplicates`), the result kept."""
    options = (selectinload(Record.status_history), joinedload(Record.issuing_unit).joinedload(AdminUnit.parent))
    record = session.scalar(select(Record).where(Record.source_id == source_id).options(*options))
    if record is not None and record.merged_into_id is not None:
        record = session.scalar(select(Record).where(Record.id == record.merged_into_id).options(*options))
    return record


def get_record(session: Session, source_id: str) -> Record:
    """The result with this source id. Raises NotFound."""
    record = find_record(session, source_id)
    if record is None:
        raise NotFound()
    return record


@dataclass(frozen=True)
class RecordPage:
    """What the result page shows: the record, which of its fields, and its status right now."""

    record: Record
    fields: frozenset[str]
    status: str
    as_of: datetime
    successors: list[UnitSuccession]
    #: Public results only: the results replacing this one and the one it replaces (public ones).
    replaced_by: list[Record] = field(default_factory=list)
    replaces: Record | None = None

    @property
    def restricted(self) -> bool:
        return "summary" not in self.fields

    @property
    def personal(self) -> bool:
        """Shows personal data: never to be kept by a shared cache."""
        return "holder_id_number" in self.fields

    def shows(self, name: str) -> bool:
        return name in self.fields


def view_record(session: Session, source_id: str, actor: object | None = None,
                now: datetime | None = None) -> RecordPage:
    """The result page of ``source_id`` as ``actor`` may see it. Raises NotFound."""
    record = get_record(session, source_id)
    now = now or clock.now()
    fields = public_view(record, actor)
    # A personal result's page, even restricted, tells that it exists and is valid: logged too.
    access_log.record_access(session, actor, record, "record.view",
                             personal_data=fields == FULL_FIELDS or record.access == Access.PERSONAL,
                             details={"restricted": fields != FULL_FIELDS})
    page = RecordPage(record=record, fields=fields, status=str(record.effective_status(now.date())),
                      as_of=now, successors=successors(record.issuing_unit))
    if "links" not in fields:
        return page
    # Links lead only to other public results: a personal replacement stays unnamed.
    replaced_by = list(session.scalars(
        select(Record).where(Record.replaces_source_id == record.source_id, Record.access == Access.PUBLIC)
        .order_by(Record.issued_date, Record.id)))
    replaces = None
    if record.replaces_source_id:
        replaces = session.scalar(select(Record).where(
            Record.source_id == record.replaces_source_id, Record.access == Access.PUBLIC))
    return RecordPage(record=record, fields=fields, status=page.status, as_of=now,
                      successors=page.successors, replaced_by=replaced_by, replaces=replaces)


def get_preview_document(session: Session, source_id: str, position: int, page: int,
                         actor: object | None = None) -> Document:
    """The stored document behind page ``page`` of file ``position`` of a result ``actor`` may view.

    Raises NotFound for an unknown result, a result whose files the actor may not see, an unknown
    file position or a page out of range (one answer for all: a 403 would confirm the result exists).
    """
    record = get_record(session, source_id)
    if "files" not in public_view(record, actor):
        raise NotFound()
    record_file = session.scalar(select(RecordFile).where(
        RecordFile.record_id == record.id, RecordFile.position == position))
    if record_file is None or not 1 <= page <= record_file.document.pages:
        raise NotFound()
    access_log.record_access(session, actor, record, "record.download",
                             details={"file": position, "page": page})
    return record_file.document


def list_own_records(session: Session, citizen, page: int = 1, per_page: int = 20) -> ResultList:
    """The results about ``citizen`` (a person) or the organization they represent, newest first.

    An account linked to no subject has none; a page past the last shows the first.
    """
    subject_ids = citizen.subject_ids
    if not subject_ids:
        return ResultList(total=0, hits=[], page=1, per_page=per_page)
    return list_page(session, select(Record).where(Record.subject_id.in_(subject_ids), Record.merged_into_id.is_(None)),
                     (Record.issued_date.desc(), Record.id.desc()), page, per_page, first_if_past_end=True)


def list_unit_results(session: Session, unit: AdminUnit, *, page: int = 1, per_page: int = 20) -> ResultList:
    """Public results issued by a unit, newest first.

    A current unit: its own results and those of every old unit merged into it, partly or wholly
    (`portal.units.services.within`, as the search filter `current_unit`). An old unit: its own
    results and, for an old district, those of its communes.
    """
    total = None
    if unit.system == UnitSystem.CURRENT:
        where = unit_services.within(Record.issuing_unit_id, [unit.id])
        total = count_public_results(session).get(unit.id, 0)  # the same rule, counted for every unit
    else:
        children = select(AdminUnit.id).where(AdminUnit.parent_id == unit.id)
        where = or_(Record.issuing_unit_id == unit.id, Record.issuing_unit_id.in_(children))
    return list_page(session, select(Record).where(where, Record.access == Access.PUBLIC,
                                                   Record.merged_into_id.is_(None)),
                     (Record.issued_date.desc(), Record.id), page, per_page, total=total)


@dataclass(frozen=True)
class PortalCounts:
    results: int
    units: int


def portal_counts(session: Session) -> PortalCounts:
    """How many results the portal holds and how many current communes/wards it covers (kept a
    few minutes: `portal.figures`)."""
    def count() -> PortalCounts:
        results = session.scalar(select(func.count()).select_from(Record)
                                 .where(Record.merged_into_id.is_(None))) or 0
        units = session.scalar(select(func.count()).select_from(AdminUnit).where(
            AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE)) or 0
        return PortalCounts(results=results, units=units)

    return figures.kept(session, "portal_counts", count)




def count_public_results(session: Session) -> dict[int, int]:
    """Public results per current unit id, results of old units counted in each of their successors
    (one grouped query, spread with the successor rule; kept a few minutes: `portal.figures`)."""
    def count() -> dict[int, int]:
        per_unit = dict(session.execute(select(Record.issuing_unit_id, func.count()).where(
            Record.access == Access.PUBLIC, Record.merged_into_id.is_(None))
            .group_by(Record.issuing_unit_id)).all())
        return unit_services.totals_by_current_unit(session, per_unit)

    return figures.kept(session, "public_results_per_unit", count)


def busiest_ward(session: Session) -> AdminUnit | None:
    """The current commune or ward with the most public results (old merged units included), so a
    demo clerk has something to look at; the first one by code when there are no results yet."""
    counts = count_public_results(session)
    units = session.scalars(select(AdminUnit).where(
        AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE)
        .order_by(AdminUnit.code)).all()
    return max(units, key=lambda unit: counts.get(unit.id, 0), default=None)


def list_result_holders(session: Session, limit: int) -> list[tuple[Subject, int]]:
    """(subject, number of results), most results first: up to ``limit`` individuals with personal
    results, then up to ``limit`` organizations (the development provider offers them)."""
    count = func.count(Record.id)
    people = []
    for kind, where in ((SubjectKind.INDIVIDUAL, Record.access == Access.PERSONAL),
                        (SubjectKind.ORGANIZATION, True)):
        people += session.execute(
            select(Subject, count).join(Record, Record.subject_id == Subject.id)
            .where(Subject.kind == kind.value, where).group_by(Subject.id)
            .order_by(count.desc(), Subject.id).limit(limit)).all()
    return people
