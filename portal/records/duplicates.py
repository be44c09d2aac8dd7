"""Possible duplicates: the staff list, and a person's decision on each pair ("same" or "different").

Imports raise the flags (`portal.imports.findings`); nothing here ever merges without a person.
Who decides: clerks and supervisors of a unit for pairs where one result was issued by a unit
they serve (old units merged into theirs included), and administrators for every pair.

"Same result" merges without deleting anything: the result not kept gets ``merged_into_id``
and stays in the database with its files, status history, copy requests, corrections and
access log; it leaves search and the public lists, and its source_id becomes an alias of the
kept result (its page redirects there; a re-import of either source_id updates the kept one).
`undo` reverses a merge while nobody has merged the kept result further. Every decision is in the
audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased

from portal import audit, casework
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound
from portal.identity.models import StaffRole, StaffUser
from portal.paging import Paged
from portal.records import index_queue
from portal.records.models import DuplicateFlag, DuplicateState, Record

STATES = tuple(state.value for state in DuplicateState)


def may_decide(staff: StaffUser) -> bool:
    return staff.active and (staff.role == StaffRole.ADMIN or casework.works_on_cases(staff))


def _scope(staff: StaffUser, query):
    """``query`` over DuplicateFlag narrowed to the pairs ``staff`` may see and decide."""
    if not may_decide(staff):
        return query.where(False)
    if staff.role == StaffRole.ADMIN:
        return query
    units = casework.unit_ids(staff)
    first, second = aliased(Record), aliased(Record)
    return (query.join(first, first.id == DuplicateFlag.record_id).join(second, second.id == DuplicateFlag.other_id)
            .where(or_(first.issuing_unit_id.in_(units), second.issuing_unit_id.in_(units))))


@dataclass(frozen=True)
class FlagList(Paged):
    total: int
    flags: list[DuplicateFlag]
    page: int
    per_page: int


def list_flags(session: Session, staff: StaffUser, state: str = "open", page: int = 1,
               per_page: int = 25) -> FlagList:
    """The pairs ``staff`` may decide, in ``state`` (open ones oldest first, decided newest first)."""
    state = state if state in STATES else DuplicateState.OPEN.value
    query = _scope(staff, select(DuplicateFlag).where(DuplicateFlag.state == state))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = DuplicateFlag.id if state == DuplicateState.OPEN else DuplicateFlag.decided_at.desc()
    flags = list(session.scalars(query.order_by(order, DuplicateFlag.id).offset((max(page, 1) - 1) * per_page)
                                 .limit(per_page)).unique())
    return FlagList(total=total, flags=flags, page=page, per_page=per_page)


def get_flag(session: Session, staff: StaffUser, flag_id: int) -> DuplicateFlag:
    """A pair ``staff`` may decide. Raises NotFound (also for another unit's pair)."""
    flag = session.scalars(_scope(staff, select(DuplicateFlag).where(DuplicateFlag.id == flag_id))).first()
    if flag is None:
        raise NotFound()
    return flag


def _claim(session: Session, flag: DuplicateFlag, expected: str) -> None:
    """Compare-and-set on the flag's state: two people deciding the same pair at once, the second
    finds it decided (casework.AlreadyProcessed) instead of deciding it twice."""
    done = session.execute(update(DuplicateFlag).where(DuplicateFlag.id == flag.id, DuplicateFlag.state == expected)
                           .values(state=expected).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise casework.AlreadyProcessed(str(flag.id))


def mark_different(session: Session, staff: StaffUser, flag: DuplicateFlag) -> None:
    """Two different results: the flag is closed and this pair is never flagged again."""
    _claim(session, flag, DuplicateState.OPEN.value)
    flag.state, flag.decided_at, flag.decided_by = DuplicateState.DIFFERENT.value, utcnow(), staff.audit_name
    audit.record(session, staff.audit_name, "records.duplicate.different", f"duplicate:{flag.id}",
                 details={"pair": [flag.record.source_id, flag.other.source_id]})
    session.flush()


def mark_same(session: Session, staff: StaffUser, flag: DuplicateFlag, keep_source_id: str) -> Record:
    """One result digitized twice: ``keep_source_id`` (one of the pair) stays, the other is merged
    into it. Raises InvalidInput when ``keep_source_id`` is not one of the pair."""
    pair = {flag.record.source_id: flag.record, flag.other.source_id: flag.other}
    if keep_source_id not in pair:
        raise InvalidInput("keep")
    kept = pair.pop(keep_source_id)
    (merged,) = pair.values()
    _claim(session, flag, DuplicateState.OPEN.value)
    if kept.merged_into_id is not None or merged.merged_into_id is not None:
        raise InvalidInput("already_merged")  # decided through another pair meanwhile
    merged.merged_into_id = kept.id
    # Aliases of the merged result follow it: every alias points straight at the kept result.
    session.execute(update(Record).where(Record.merged_into_id == merged.id).values(merged_into_id=kept.id)
                    .execution_options(synchronize_session=False))
    flag.state, flag.decided_at, flag.decided_by = DuplicateState.SAME.value, utcnow(), staff.audit_name
    flag.kept_id = kept.id
    index_queue.enqueue_remove(session, merged.source_id)
    index_queue.enqueue_upsert(session, kept)
    audit.record(session, staff.audit_name, "records.duplicate.same", f"record:{kept.source_id}",
                 details={"flag": flag.id, "kept": kept.source_id, "merged": merged.source_id})
    session.flush()
    return kept


def undo(session: Session, staff: StaffUser, flag: DuplicateFlag) -> None:
    """Reopen a decided pair; a merge is reversed (the merged result is listed and searched again).
    Raises InvalidInput when the merged result has since been merged elsewhere."""
    state = flag.state
    if state == DuplicateState.OPEN:
        return
    if state == DuplicateState.SAME:
        merged = flag.other if flag.kept_id == flag.record_id else flag.record
        if merged.merged_into_id != flag.kept_id:
            raise InvalidInput("moved")
    _claim(session, flag, state)
    if state == DuplicateState.SAME:
        merged.merged_into_id = None
        index_queue.enqueue_upsert(session, merged)
        index_queue.enqueue_upsert(session, session.get(Record, flag.kept_id))
    audit.record(session, staff.audit_name, "records.duplicate.undo", f"duplicate:{flag.id}",
                 details={"was": state, "pair": [flag.record.source_id, flag.other.source_id]})
    flag.state, flag.decided_at, flag.decided_by, flag.kept_id = DuplicateState.OPEN.value, None, None, None
    session.flush()


def count_open(session: Session, staff: StaffUser) -> int:
    query = _scope(staff, select(DuplicateFlag.id).where(DuplicateFlag.state == DuplicateState.OPEN))
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def aliases_of(session: Session, record: Record) -> list[str]:
    """The source_ids merged into ``record`` (its aliases)."""
    return list(session.scalars(select(Record.source_id).where(Record.merged_into_id == record.id)
                                .order_by(Record.source_id)))
