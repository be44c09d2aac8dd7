"""What the daily job finds due for each follow, and queueing each notice exactly once.

Events, each with a key unique per follow (the `FollowNotice` constraint):

- ``expiry:<days>:<valid_to>``: the result, still valid, ends within ``days`` (FOLLOW_REMINDER_DAYS,
  60, 30 and 7 by default). Only the nearest threshold crossed is due, so a result followed 20 days
  before its end gets one reminder, not three; the end date is in the key, so an extension starts
  a fresh series;
- ``status:<status_change id>``: its status changed (revoked, replaced, annulled, restored…);
- ``correction:<id>``: a clerk corrected it;
- ``replacement:<record id>``: a result replacing it arrived.

Only events after the follow began are news. Every event is found by a set query (one per kind),
not per follow, so the job's cost does not grow with one query per follower.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, String, cast, exists, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from portal import outbox
from portal.feedback.models import RecordCorrection
from portal.follows.mails import TOPIC
from portal.follows.models import Follow, FollowNotice
from portal.follows.services import may_follow
from portal.records.models import Record, ResultStatus, StatusChange


@dataclass(frozen=True)
class Due:
    follow_id: int
    key: str
    #: Keys this event's mail also answers: recorded with it, never mailed on their own.
    covers: tuple[str, ...] = ()


def reminder_threshold(days_left: int, thresholds: Iterable[int]) -> int | None:
    """The nearest threshold ``days_left`` has crossed (30 for 25 days left of 60, 30, 7), or None."""
    crossed = [days for days in thresholds if days_left <= days]
    return min(crossed) if crossed else None


def _expiries(session: Session, today: date, thresholds: list[int]) -> list[Due]:
    rows = session.execute(
        select(Follow.id, Record.valid_to).join(Record, Record.id == Follow.record_id).where(
            Record.status == ResultStatus.VALID, Record.valid_to.is_not(None), Record.valid_to >= today,
            Record.valid_to <= today + timedelta(days=max(thresholds)))).all()
    due = []
    for follow_id, valid_to in rows:
        days = reminder_threshold((valid_to - today).days, thresholds)
        if days is not None:
            due.append(Due(follow_id, f"expiry:{days}:{valid_to.isoformat()}"))
    return due


def _not_queued(kind: str, event_id) -> ColumnElement[bool]:
    """SQL: no notice of this follow has the key "<kind>:<event id>" yet (so old events are not
    read again every morning)."""
    key = literal(f"{kind}:") + cast(event_id, String)
    return ~exists().where(FollowNotice.follow_id == Follow.id, FollowNotice.event_key == key)


def _status_changes(session: Session) -> list[tuple[Due, str]]:
    rows = session.execute(select(Follow.id, StatusChange.id, StatusChange.new_status).join(
        StatusChange, StatusChange.record_id == Follow.record_id)
        .where(StatusChange.changed_at > Follow.created_at, _not_queued("status", StatusChange.id)))
    return [(Due(follow_id, f"status:{change_id}"), status) for follow_id, change_id, status in rows]


def _corrections(session: Session) -> list[Due]:
    rows = session.execute(select(Follow.id, RecordCorrection.id).join(
        RecordCorrection, RecordCorrection.record_id == Follow.record_id)
        .where(RecordCorrection.at > Follow.created_at, _not_queued("correction", RecordCorrection.id)))
    return [Due(follow_id, f"correction:{correction_id}") for follow_id, correction_id in rows]


def _replacements(session: Session) -> list[Due]:
    followed, replacing = aliased(Record), aliased(Record)
    rows = session.execute(
        select(Follow.id, replacing.id).join(followed, followed.id == Follow.record_id)
        .join(replacing, replacing.replaces_source_id == followed.source_id)
        .where(replacing.created_at > Follow.created_at, replacing.merged_into_id.is_(None),
               _not_queued("replacement", replacing.id)))
    return [Due(follow_id, f"replacement:{record_id}") for follow_id, record_id in rows]


def find_due(session: Session, today: date, thresholds: list[int]) -> list[Due]:
    """Events not yet queued for follows whose follower may still follow the result."""
    replacements = _replacements(session)
    first_replacement = {}
    for index, replacement in enumerate(replacements):
        first_replacement.setdefault(replacement.follow_id, index)
    due = _expiries(session, today, thresholds) + _corrections(session)
    for change, status in _status_changes(session):
        index = first_replacement.get(change.follow_id)
        if status == ResultStatus.REPLACED and index is not None:
            # The import that brings a replacing result also marks this one replaced: one mail.
            first = replacements[index]
            replacements[index] = Due(first.follow_id, first.key, (*first.covers, change.key))
        else:
            due.append(change)
    due += replacements
    if not due:
        return []
    follow_ids = {d.follow_id for d in due}
    queued = {(follow_id, key) for follow_id, key in session.execute(
        select(FollowNotice.follow_id, FollowNotice.event_key).where(FollowNotice.follow_id.in_(follow_ids)))}
    follows = {f.id: f for f in session.scalars(select(Follow).where(Follow.id.in_(follow_ids))).unique()}
    return [Due(d.follow_id, d.key, tuple(k for k in d.covers if (d.follow_id, k) not in queued))
            for d in due if (d.follow_id, d.key) not in queued
            and may_follow(follows[d.follow_id].citizen, follows[d.follow_id].record)]


def queue(session: Session, due: Iterable[Due]) -> int:
    """Queue a mail for each event, each in its own savepoint with its notice row: if another run
    queued the same notice meanwhile, the insert fails on the unique constraint and that mail is
    not queued. Commits; returns the mails queued."""
    queued = 0
    for event in due:
        try:
            with session.begin_nested():
                notice = FollowNotice(follow_id=event.follow_id, event_key=event.key)
                session.add(notice)
                session.add_all(FollowNotice(follow_id=event.follow_id, event_key=key)
                                for key in event.covers)
                session.flush()
                outbox.add(session, TOPIC, notice.id)
        except IntegrityError:
            continue
        queued += 1
    outbox.commit(session)
    return queued


def queue_due(session: Session, today: date, thresholds: list[int]) -> int:
    """What the daily job does: find what is due and queue it. Commits; returns the mails queued."""
    return queue(session, find_due(session, today, thresholds))
