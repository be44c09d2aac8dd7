"""Share links: who may make one, making, listing, revoking, and opening one by its token.

A holder (the subject of a result, or a representative of its organization) makes a link for a
named recipient, choosing which optional fields it shows; type, number, dates, status (as of the
opening) and the issuing unit are always shown. The link carries a random token; only its SHA-256 is
stored. It stops working at once when revoked, expired, spent (one-time links) or when the result is
annulled. Every opening by anyone but the holder is written to the holder's access log.

Someone else's personal result is answered like an unknown one (404); someone else's public result
with a refusal (403). Services flush, never commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defaultload

from portal import audit, clock
from portal.errors import Forbidden, NotFound
from portal.identity.models import Citizen
from portal.paging import Paged, page_count
from portal.records.access import is_subject
from portal.records.access_log import record_access
from portal.records.models import Access, Record, RecordFile, ResultStatus
from portal.records.services import get_record
from portal.sharing.models import ShareLink

#: Fields a holder may add to what a link always shows, in the order the form and the page show them.
OPTIONAL_FIELDS = ("holder_name", "holder_id_number", "summary", "scans")
#: Expiry choices of the form: value → lifetime. Those longer than SHARE_MAX_DAYS are not offered.
EXPIRY_CHOICES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7),
                  "30d": timedelta(days=30), "90d": timedelta(days=90)}
#: Shortest lifetime a link may have.
MIN_LIFETIME = timedelta(hours=1)
#: Longest recipient name kept.
MAX_RECIPIENT = 120
#: Longer than any token the portal makes (secrets.token_urlsafe(32) is 43 characters).
MAX_TOKEN = 100
#: Scanned pages a link's page shows at most (every file together).
MAX_SCAN_PAGES = 20


class State(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ANNULLED = "annulled"
    #: Its maker no longer holds the result (a representative who left the organization).
    NOT_HOLDER = "not_holder"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def verification_code(link: ShareLink, secret: str) -> str:
    """A short code derived from the link's id and creation time with the app's secret: the holder
    sees it on their list, the recipient on the page and in the API answer, so either can read it to
    the other (or to the unit) to be sure they speak of the same link. It proves nothing alone."""
    message = f"share:{link.id}:{link.created_at.isoformat()}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    text = base64.b32encode(digest[:5]).decode()  # 8 characters, no padding
    return f"{text[:4]}-{text[4:]}"


def state(link: ShareLink, now: datetime | None = None) -> State:
    """What the link is now; only ACTIVE opens."""
    now = now or clock.now()
    if link.revoked_at is not None:
        return State.REVOKED
    if link.record.status == ResultStatus.ANNULLED:
        return State.ANNULLED
    if not is_subject(link.citizen, link.record):
        return State.NOT_HOLDER
    if link.one_time and link.used_at is not None:
        return State.USED
    if link.expires_at <= now:
        return State.EXPIRED
    return State.ACTIVE


# --- The holder's side -------------------------------------------------------------------------


def get_shareable(session: Session, citizen: Citizen, source_id: str) -> Record:
    """The result ``citizen`` may share. Raises NotFound (unknown, someone else's personal result,
    an annulled one) or Forbidden (someone else's public result)."""
    record = get_record(session, source_id)
    if not is_subject(citizen, record):
        if record.access != Access.PUBLIC:
            raise NotFound()
        raise Forbidden(_l("Only the holder of this result (or a representative of the organization it was "
                           "issued to) can create a share link for it."))
    if record.status == ResultStatus.ANNULLED:
        raise Forbidden(_l("This result has been annulled: it cannot be shared."))
    return record


def expiry_choices(max_days: int) -> list[str]:
    """The expiry choices offered: those within ``max_days``."""
    return [key for key, lifetime in EXPIRY_CHOICES.items() if lifetime <= timedelta(days=max_days)]


@dataclass(frozen=True)
class Created:
    link: ShareLink
    #: The token of the link: shown once to the holder, never stored.
    token: str


def create(session: Session, citizen: Citizen, source_id: str, *, recipient: str, fields: list[str],
           lifetime: timedelta, one_time: bool, max_days: int) -> Created:
    """Make a link. Raises NotFound, Forbidden (see `get_shareable`), ValueError for a lifetime
    outside 1 hour .. ``max_days`` days, an unknown field or an empty recipient."""
    record = get_shareable(session, citizen, source_id)
    if not MIN_LIFETIME <= lifetime <= timedelta(days=max_days):
        raise ValueError("lifetime out of range")
    if set(fields) - set(OPTIONAL_FIELDS):
        raise ValueError("unknown field")
    recipient = " ".join(recipient.split())[:MAX_RECIPIENT]
    if not recipient:
        raise ValueError("no recipient")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    link = ShareLink(citizen_id=citizen.id, record_id=record.id, token_hash=token_hash(token),
                     recipient=recipient, fields=[f for f in OPTIONAL_FIELDS if f in fields],
                     created_at=now, expires_at=now + lifetime, one_time=one_time)
    session.add(link)
    session.flush()
    audit.record(session, citizen.audit_name, "share.create", f"share:{link.id}",
                 details={"record": record.source_id, "recipient": recipient, "fields": link.fields,
                          "expires_at": link.expires_at.isoformat(), "one_time": one_time})
    return Created(link=link, token=token)


def _still_own(citizen: Citizen):
    """SQL: links of results ``citizen`` still holds (an account may lose an organization)."""
    return Record.subject_id.in_(citizen.subject_ids or {-1})


@dataclass(frozen=True)
class SharePage(Paged):
    links: list[ShareLink]
    total: int
    page: int
    per_page: int


def list_links(session: Session, citizen: Citizen, page: int = 1, per_page: int = 20) -> SharePage:
    """The links ``citizen`` made, newest first; a page past the last shows the first."""
    where = (ShareLink.citizen_id == citizen.id, _still_own(citizen))
    total = session.scalar(select(func.count()).select_from(ShareLink).join(Record).where(*where)) or 0
    if not 1 <= page <= page_count(total, per_page):
        page = 1
    links = session.scalars(
        select(ShareLink).join(ShareLink.record).where(*where)
        .options(defaultload(ShareLink.record).lazyload(Record.files))  # the list shows no scans
        .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).unique().all()
    return SharePage(links=list(links), total=total, page=page, per_page=per_page)


def get_own(session: Session, citizen: Citizen, link_id: int) -> ShareLink:
    """One of ``citizen``'s links. Raises NotFound for anyone else's."""
    found = session.get(ShareLink, link_id)
    if found is None or found.citizen_id != citizen.id or not is_subject(citizen, found.record):
        raise NotFound()
    return found


def revoke(session: Session, citizen: Citizen, link_id: int) -> ShareLink:
    """Stop a link at once (a second revocation changes nothing). Raises NotFound for anyone else's."""
    link = get_own(session, citizen, link_id)
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        session.flush()
        audit.record(session, citizen.audit_name, "share.revoke", f"share:{link.id}",
                     details={"record": link.record.source_id, "recipient": link.recipient})
    return link


# --- The recipient's side ----------------------------------------------------------------------


class ShareReader:
    """Whoever opens a link, as the holder's access log names them."""

    def __init__(self, link: ShareLink) -> None:
        self.link = link

    @property
    def audit_name(self) -> str:
        return f"share:{self.link.id}"


def find(session: Session, token: str) -> ShareLink | None:
    """The link of ``token``, whatever its state; None for a token the portal never made."""
    if not token or len(token) > MAX_TOKEN:
        return None
    return session.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash(token)))


class Gone(Exception):
    """The link exists but no longer opens; ``state`` says why."""

    def __init__(self, state: State) -> None:
        super().__init__(state.value)
        self.state = state


def open_link(session: Session, token: str, *, channel: str = "web",
              by_holder: Callable[[ShareLink], bool] = lambda link: False, details: dict | None = None
              ) -> tuple[ShareLink, bool]:
    """Open a link: counted, logged for the holder and, for a one-time link, spent. ``by_holder``
    tells whether the reader is the holder looking at their own link (neither counted, logged nor
    spent: a preview). Returns the link and whether it was such a preview.

    Raises NotFound (unknown token) or Gone. A one-time link is spent by an UPDATE that only
    succeeds while it is unspent: of two openings at once, one gets the page and the other Gone.
    """
    link = find(session, token)
    if link is None:
        raise NotFound()
    now = clock.now()
    current = state(link, now)
    if current != State.ACTIVE:
        raise Gone(current)
    if by_holder(link):
        return link, True
    condition = [ShareLink.id == link.id, ShareLink.revoked_at.is_(None)]
    values = {"openings": ShareLink.openings + 1, "last_opened_at": now}
    if link.one_time:
        condition.append(ShareLink.used_at.is_(None))
        values["used_at"] = now
    result = session.execute(update(ShareLink).where(*condition).values(**values)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # spent (or revoked) by another request since it was read
        raise Gone(State.USED if link.one_time else State.REVOKED)
    session.refresh(link, ["openings", "last_opened_at", "used_at"])
    record_access(session, ShareReader(link), link.record, "record.view", channel=channel,
                  purpose=f"Liên kết chia sẻ cho {link.recipient}", personal_data=True,
                  details={"share": link.id, **(details or {})})
    return link, False


def scan_document(session: Session, link: ShareLink, position: int, page: int, *, by_holder: bool = False):
    """The stored document behind page ``page`` of file ``position`` of the link's own result, when
    the link shows scans; logged for the holder. Raises NotFound otherwise (one answer for all)."""
    if "scans" not in link.fields:
        raise NotFound()
    record_file = session.scalar(select(RecordFile).where(RecordFile.record_id == link.record_id,
                                                          RecordFile.position == position))
    if record_file is None or not 1 <= page <= record_file.document.pages:
        raise NotFound()
    if not by_holder:
        record_access(session, ShareReader(link), link.record, "record.download", personal_data=True,
                      purpose=f"Liên kết chia sẻ cho {link.recipient}",
                      details={"share": link.id, "file": position, "page": page})
    return record_file.document


def scan_pages(link: ShareLink) -> list[tuple[int, int]]:
    """(file position, page) of the scans a link's page shows, at most MAX_SCAN_PAGES."""
    if "scans" not in link.fields:
        return []
    pages = [(f.position, p) for f in link.record.files for p in range(1, f.document.pages + 1)]
    return pages[:MAX_SCAN_PAGES]
