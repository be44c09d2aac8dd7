"""Following results: who may follow which result, following, listing and unfollowing.

A holder follows their own results (a person's, or their organization's); a business account
also any *public* result (a partner's registration it relies on). Following someone else's
personal result is answered like a result that does not exist (404), as its other pages do.
Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defaultload

from portal.errors import Forbidden, NotFound
from portal.follows.links import read_unfollow_token
from portal.follows.models import Follow
from portal.identity.models import Citizen, SubjectKind
from portal.paging import Paged, page_count
from portal.records.access import is_subject
from portal.records.models import Access, Record
from portal.records.services import get_record


def may_follow(citizen: Citizen, record: Record) -> bool:
    if is_subject(citizen, record):
        return True
    return record.access == Access.PUBLIC and citizen.account_type == SubjectKind.ORGANIZATION.value


def get_followable(session: Session, citizen: Citizen, source_id: str) -> Record:
    """The result ``citizen`` may follow. Raises NotFound (unknown, or someone else's personal
    result) or Forbidden (a public result of someone else, for a person's account)."""
    record = get_record(session, source_id)
    if may_follow(citizen, record):
        return record
    if record.access != Access.PUBLIC:
        raise NotFound()
    raise Forbidden(_l("A person's account follows only the results issued to that person; a business "
                       "account may also follow public results."))


def find_follow(session: Session, citizen: Citizen, record: Record) -> Follow | None:
    return session.scalar(select(Follow).where(Follow.citizen_id == citizen.id,
                                               Follow.record_id == record.id))


def follow(session: Session, citizen: Citizen, source_id: str, email: str) -> Follow:
    """Follow a result, told at ``email`` (a second follow of it changes the address).
    Raises NotFound, Forbidden (see `get_followable`)."""
    record = get_followable(session, citizen, source_id)
    existing = find_follow(session, citizen, record)
    if existing is not None:
        existing.email = email
        session.flush()
        return existing
    created = Follow(citizen_id=citizen.id, record_id=record.id, email=email)
    session.add(created)
    session.flush()
    return created


@dataclass(frozen=True)
class FollowPage(Paged):
    follows: list[Follow]
    total: int
    page: int
    per_page: int


def _still_allowed(citizen: Citizen):
    """SQL: the follows ``citizen`` may still keep (an account may lose an organization)."""
    own = Record.subject_id.in_(citizen.subject_ids or {-1})
    if citizen.account_type == SubjectKind.ORGANIZATION.value:
        return own | (Record.access == Access.PUBLIC)
    return own


def list_follows(session: Session, citizen: Citizen, page: int = 1, per_page: int = 20) -> FollowPage:
    """What ``citizen`` follows, soonest end of validity first; a page past the last shows the first."""
    where = (Follow.citizen_id == citizen.id, _still_allowed(citizen))
    total = session.scalar(select(func.count()).select_from(Follow).join(Record).where(*where)) or 0
    if not 1 <= page <= page_count(total, per_page):
        page = 1
    follows = session.scalars(
        select(Follow).join(Follow.record).where(*where)
        .options(defaultload(Follow.record).lazyload(Record.files))  # the list shows no scans
        .order_by(Record.valid_to.is_(None), Record.valid_to, Follow.id)
        .offset((page - 1) * per_page).limit(per_page)).unique().all()
    return FollowPage(follows=list(follows), total=total, page=page, per_page=per_page)


def unfollow_own(session: Session, citizen: Citizen, follow_id: int) -> Follow:
    """Stop following, from one's own list. Raises NotFound for a follow of someone else."""
    found = session.get(Follow, follow_id)
    if found is None or found.citizen_id != citizen.id:
        raise NotFound()
    session.delete(found)
    session.flush()
    return found


def find_by_link(session: Session, token: str, config) -> Follow | None:
    """The follow an unfollow link was made for, if the link is genuine and the follow still there."""
    signed = read_unfollow_token(token, config)
    return _signed_follow(session, signed) if signed is not None else None


def _signed_follow(session: Session, signed: tuple[int, str]) -> Follow | None:
    found = session.get(Follow, signed[0])
    return found if found is not None and found.link_nonce == signed[1] else None


def is_genuine_link(token: str, config) -> bool:
    return read_unfollow_token(token, config) is not None


def unfollow_by_link(session: Session, token: str, config) -> bool:
    """Stop following through a mail's link; False when it was already stopped. Raises NotFound
    for a link the portal did not sign."""
    signed = read_unfollow_token(token, config)
    if signed is None:
        raise NotFound()
    found = _signed_follow(session, signed)
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True
