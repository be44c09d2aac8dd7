"""Assisted sessions at the counter: open one for a person, their consent, what the clerk may do
for them while it lasts, and its end.

A session reaches one person (a `Subject`, found by their personal id number) in one current unit
the clerk serves (and the old units merged into it), for COUNTER_SESSION_MINUTES from the consent.
Consent is a one-time code mailed to the contact on file, or a scanned signed consent form.

**Contact on file.** The portal keeps no e-mail or phone number on a person: the contact on file is
the most recent e-mail address the person gave the portal themselves, logged in, when they asked for
a copy or followed a result (copy_request.email, follow.email of an account linked to them). There is
no SMS gateway: a phone number is never a channel.

Everything the clerk does for the person is written to the audit chain with channel "counter", the
clerk as actor and the person as subject, so that it appears on the person's "who looked at my
data" page with the purpose "Cán bộ X (bộ phận một cửa Y) thay mặt Z". Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from portal import audit, outbox
from portal.copy_requests import services as copy_services
from portal.copy_requests.models import CopyRequest
from portal.counter.models import CounterSession, CounterState
from portal.db import utcnow
from portal.errors import Forbidden, NotFound, PortalError
from portal.feedback import ratings
from portal.feedback.reports import ATTACHMENT_TYPES, Attachment, check_upload, store_checked
from portal.follows.models import Follow
from portal.identity.access import serves_unit
from portal.identity.models import Citizen, StaffRole, StaffUser, Subject, SubjectKind
from portal.records import access_log
from portal.records.models import Record
from portal.records.queries import ResultList, list_page
from portal.records.services import get_record
from portal.units.services import ids_within

#: Outbox topic of the area's mails (the code, the summary).
TOPIC = "email.counter"
CHANNEL = "counter"
CODE_DIGITS = 6
#: Least time between two sends of a code in one session.
RESEND_AFTER = timedelta(seconds=60)
#: Roles that serve people at the counter.
COUNTER_ROLES = (StaffRole.CLERK, StaffRole.SUPERVISOR)


@dataclass(frozen=True)
class Settings:
    session_minutes: int = 30
    code_minutes: int = 10
    max_attempts: int = 5
    max_sends: int = 3
    consent_max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def of(cls, config: Mapping) -> Settings:
        return cls(session_minutes=int(config["COUNTER_SESSION_MINUTES"]),
                   code_minutes=int(config["COUNTER_CODE_MINUTES"]),
                   max_attempts=int(config["COUNTER_CODE_MAX_ATTEMPTS"]),
                   max_sends=int(config["COUNTER_CODE_MAX_SENDS"]),
                   consent_max_bytes=int(config["COUNTER_CONSENT_MAX_BYTES"]))


class CounterRefused(PortalError):
    """The step cannot be taken; ``reason`` is a code the page turns into a message."""

    status = 409

    def __init__(self, reason: str, **facts) -> None:
        super().__init__(reason)
        self.reason = reason
        self.facts = facts


# -- the person ----------------------------------------------------------------------------------

def find_person(session: Session, id_number: str) -> Subject | None:
    """The person with this 12-digit personal id number (spaces ignored), if the portal knows them."""
    number = "".join((id_number or "").split())
    if not (len(number) == 12 and number.isdecimal()):
        return None
    return session.scalar(select(Subject).where(Subject.kind == SubjectKind.INDIVIDUAL.value,
                                                Subject.id_number == number))


def contact_on_file(session: Session, subject_id: int) -> str:
    """The latest e-mail address the person gave the portal themselves (copy requests, follows)."""
    copy = session.execute(
        select(CopyRequest.email, CopyRequest.submitted_at)
        .join(Citizen, Citizen.id == CopyRequest.requester_id)
        .where(Citizen.subject_id == subject_id, CopyRequest.email != "")
        .order_by(CopyRequest.submitted_at.desc(), CopyRequest.id.desc()).limit(1)).first()
    follow = session.execute(
        select(Follow.email, Follow.created_at).join(Citizen, Citizen.id == Follow.citizen_id)
        .where(Citizen.subject_id == subject_id, Follow.email != "")
        .order_by(Follow.created_at.desc(), Follow.id.desc()).limit(1)).first()
    found = [row for row in (copy, follow) if row is not None]
    return max(found, key=lambda row: row[1])[0] if found else ""


def mask_email(address: str) -> str:
    """"n***@gmail.com": enough for the person to recognize, not to copy."""
    user, _, domain = address.rpartition("@")
    return f"{user[:1]}***@{domain}" if user and domain else ""


def person_account(session: Session, subject_id: int) -> Citizen | None:
    """The person's own portal account (the one logged in last), for the requests filed in it."""
    return session.scalar(select(Citizen).where(
        Citizen.subject_id == subject_id, Citizen.account_type == SubjectKind.INDIVIDUAL.value)
        .order_by(Citizen.last_login_at.desc().nulls_last(), Citizen.id.desc()).limit(1))


# -- opening and consent ---------------------------------------------------------------------------

def counter_units(staff: StaffUser):
    """The current units whose counter the clerk may serve people at."""
    if not staff.active or staff.role not in COUNTER_ROLES:
        return []
    return sorted(staff.units, key=lambda unit: unit.name)


def _audit(session: Session, counter: CounterSession, action: str, object_ref: str, *,
           subject_id: int | None = None, details: dict | None = None) -> None:
    audit.record(session, counter.staff.audit_name, action, object_ref, channel=CHANNEL,
                 purpose=on_behalf(counter), subject_id=subject_id,
                 details={"counter_session": counter.id, "staff": counter.staff_id,
                          "subject": counter.subject_id, **(details or {})})


def on_behalf(counter: CounterSession) -> str:
    """What the person reads on their access log, and the audit chain keeps."""
    text = (f"Cán bộ {counter.staff.full_name} (bộ phận một cửa {counter.unit.name}) "
            f"thay mặt {counter.subject.name}")
    return text[:200]


def open_session(session: Session, staff: StaffUser, id_number: str, unit_id: int,
                 now: datetime | None = None) -> CounterSession:
    """A pending session for the person with ``id_number`` at the counter of ``unit_id``.

    Ends the clerk's other sessions (one at a time). Raises Forbidden (not a counter role, not a
    unit served), CounterRefused("unknown_person").
    """
    now = now or utcnow()
    unit = next((u for u in counter_units(staff) if u.id == unit_id), None)
    if unit is None:
        raise Forbidden()
    subject = find_person(session, id_number)
    if subject is None:
        raise CounterRefused("unknown_person")
    for other in session.scalars(select(CounterSession).where(
            CounterSession.staff_id == staff.id,
            CounterSession.state.in_((CounterState.PENDING, CounterState.ACTIVE)))):
        end(session, other, "replaced", now)
    counter = CounterSession(staff=staff, subject=subject, unit=unit, state=CounterState.PENDING.value,
                             contact_email=contact_on_file(session, subject.id), created_at=now,
                             code_hash="", code_sends=0, code_attempts=0, consent_media_type="")
    session.add(counter)
    session.flush()
    _audit(session, counter, "counter.open", f"counter_session:{counter.id}")
    return counter


def _code_mac(counter_id: int, code: str, secret: str | bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"counter:{counter_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _pending(counter: CounterSession) -> None:
    if counter.state != CounterState.PENDING:
        raise CounterRefused("not_pending")


def _refused_recently(session: Session, counter: CounterSession, settings: Settings, now: datetime) -> bool:
    """A session for this person was refused for wrong codes within the session's length: opening a
    new one must not give five more tries."""
    since = now - timedelta(minutes=settings.session_minutes)
    return session.scalar(select(CounterSession.id).where(
        CounterSession.subject_id == counter.subject_id, CounterSession.ended_reason == "too_many_codes",
        CounterSession.ended_at >= since).limit(1)) is not None


def send_code(session: Session, counter: CounterSession, settings: Settings, secret: str | bytes,
              now: datetime | None = None) -> str:
    """Make a new one-time code, keep its HMAC and queue the mail to the contact on file.

    Returns the code (for tests; pages never show it). Raises CounterRefused: "not_pending",
    "no_contact", "too_many_sends", "too_soon", "too_many_codes".
    """
    now = now or utcnow()
    _pending(counter)
    if not counter.contact_email:
        raise CounterRefused("no_contact")
    if _refused_recently(session, counter, settings, now):
        raise CounterRefused("too_many_codes")
    if counter.code_sends >= settings.max_sends:
        raise CounterRefused("too_many_sends")
    if counter.code_sent_at is not None and now - counter.code_sent_at < RESEND_AFTER:
        wait = RESEND_AFTER - (now - counter.code_sent_at)
        raise CounterRefused("too_soon", seconds=int(wait.total_seconds()))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    counter.code_hash = _code_mac(counter.id, code, secret)
    counter.code_sent_at = now
    counter.code_sends += 1
    session.flush()
    # The code travels in the outbox row until the mail is sent, as copy requests' tracking codes do.
    outbox.add(session, TOPIC, f"code:{counter.id}", {"code": code, "sends": counter.code_sends})
    _audit(session, counter, "counter.code_sent", f"counter_session:{counter.id}",
           details={"to": mask_email(counter.contact_email)})
    return code


def confirm_code(session: Session, counter: CounterSession, code: str, settings: Settings,
                 secret: str | bytes, now: datetime | None = None) -> CounterSession:
    """Start the session if ``code`` is the code sent. Raises CounterRefused: "not_pending",
    "no_code", "code_expired", "wrong_code" (facts: remaining), "too_many_codes" (the session is
    then ended: the clerk starts again, with the consent form)."""
    now = now or utcnow()
    _pending(counter)
    if not counter.code_hash or counter.code_sent_at is None:
        raise CounterRefused("no_code")
    if counter.code_attempts >= settings.max_attempts:
        raise CounterRefused("too_many_codes")
    if now - counter.code_sent_at > timedelta(minutes=settings.code_minutes):
        raise CounterRefused("code_expired")
    given = "".join((code or "").split())
    if len(given) == CODE_DIGITS and given.isdecimal() and \
            hmac.compare_digest(counter.code_hash, _code_mac(counter.id, given, secret)):
        counter.code_hash = ""  # used once
        return _activate(session, counter, "code", settings, now)
    counter.code_attempts += 1
    session.flush()
    _audit(session, counter, "counter.code_wrong", f"counter_session:{counter.id}",
           details={"attempt": counter.code_attempts})
    if counter.code_attempts >= settings.max_attempts:
        end(session, counter, "too_many_codes", now)
        raise CounterRefused("too_many_codes")
    raise CounterRefused("wrong_code", remaining=settings.max_attempts - counter.code_attempts)


def consent_by_form(session: Session, counter: CounterSession, upload: Attachment, settings: Settings,
                    now: datetime | None = None) -> CounterSession:
    """Start the session on a scanned, signed consent form (PDF, JPEG or PNG), checked from its bytes
    in an isolated child with the upload budgets. Raises CounterRefused("not_pending"),
    feedback.reports.InvalidReport("consent", code) for a file refused."""
    now = now or utcnow()
    _pending(counter)
    checked, path = check_upload(upload, field_name="consent", max_bytes=settings.consent_max_bytes,
                                 types=ATTACHMENT_TYPES)
    store_checked(checked, path)
    counter.consent_sha256, counter.consent_media_type = checked.sha256, checked.media_type
    return _activate(session, counter, "form", settings, now)


def _activate(session: Session, counter: CounterSession, method: str, settings: Settings,
              now: datetime) -> CounterSession:
    counter.state = CounterState.ACTIVE.value
    counter.consent_method = method
    counter.started_at = now
    counter.expires_at = now + timedelta(minutes=settings.session_minutes)
    session.flush()
    _audit(session, counter, "counter.start", f"counter_session:{counter.id}",
           details={"consent": method, "consent_sha256": counter.consent_sha256})
    return counter


# -- the running session -------------------------------------------------------------------------

def load(session: Session, staff: StaffUser, counter_id: object) -> CounterSession | None:
    """The clerk's own session with this id (from their login's server-side session), or None."""
    if not isinstance(counter_id, int):
        return None
    counter = session.get(CounterSession, counter_id)
    return counter if counter is not None and counter.staff_id == staff.id else None


def check_active(session: Session, counter: CounterSession | None, now: datetime | None = None) -> str | None:
    """None while ``counter`` may be used; else why not ("none", "pending", "ended", "expired"). An
    expired session is ended here (its summary queued), whether or not the periodic task has run."""
    now = now or utcnow()
    if counter is None:
        return "none"
    if counter.state == CounterState.PENDING:
        return "pending"
    if counter.state != CounterState.ACTIVE:
        return "ended"
    if counter.expires_at is None or now >= counter.expires_at:
        end(session, counter, "expired", now)
        return "expired"
    return None


def scope_ids(counter: CounterSession) -> set[int]:
    """The unit of the counter and the old units merged into it."""
    return ids_within([counter.unit])


def _in_scope(counter: CounterSession, record: Record) -> bool:
    return (record.subject_id == counter.subject_id and record.issuing_unit_id in scope_ids(counter)
            and serves_unit(counter.staff, record.issuing_unit))


def list_results(session: Session, counter: CounterSession, page: int = 1, per_page: int = 20) -> ResultList:
    """The person's results issued by (or now under) the counter's unit, newest first. The list itself
    goes on the audit chain (which results were listed); each result opened goes on the person's log."""
    query = select(Record).where(Record.subject_id == counter.subject_id, Record.merged_into_id.is_(None),
                                 Record.issuing_unit_id.in_(scope_ids(counter)))
    results = list_page(session, query, (Record.issued_date.desc(), Record.id.desc()), page, per_page,
                        first_if_past_end=True)
    if results.hits:
        _audit(session, counter, "counter.list", f"counter_session:{counter.id}",
               details={"results": [hit.record.source_id for hit in results.hits]})
    return results


def get_result(session: Session, counter: CounterSession, source_id: str) -> Record:
    """A result of the person within the session's reach. Raises NotFound for any other."""
    record = get_record(session, source_id)
    if not _in_scope(counter, record):
        raise NotFound()
    return record


def view_result(session: Session, counter: CounterSession, source_id: str) -> Record:
    """The result, its reading written on the person's access log. Raises NotFound."""
    record = get_result(session, counter, source_id)
    access_log.record_access(session, counter.staff, record, "record.view", channel=CHANNEL,
                             purpose=on_behalf(counter), personal_data=True,
                             details={"counter_session": counter.id, "staff": counter.staff_id,
                                      "subject": counter.subject_id})
    return record


def request_copy(session: Session, counter: CounterSession, source_id: str, data, *,
                 rules: copy_services.Rules | None = None, now: datetime | None = None):
    """File a copy request for the person, in their own account, with the citizen's rules and fees
    (`copy_requests.services.submit`). Raises NotFound, CounterRefused("no_account"), CopyRefused,
    InvalidInput. Returns (request, tracking code)."""
    record = get_result(session, counter, source_id)
    citizen = person_account(session, counter.subject_id)
    if citizen is None:
        raise CounterRefused("no_account")
    copy_request, code = copy_services.submit(session, citizen, record.source_id, data, now=now, rules=rules)
    _audit(session, counter, "counter.copy_request", f"record:{record.source_id}",
           subject_id=counter.subject_id, details={"copy_request": copy_request.reference})
    return copy_request, code


def person_requests(session: Session, counter: CounterSession, limit: int = 50) -> list[CopyRequest]:
    """The person's copy requests handled by the counter's unit, newest first."""
    citizen_ids = select(Citizen.id).where(Citizen.subject_id == counter.subject_id)
    return list(session.scalars(select(CopyRequest).where(
        CopyRequest.requester_id.in_(citizen_ids), CopyRequest.unit_id.in_(scope_ids(counter)))
        .options(selectinload(CopyRequest.record)).order_by(CopyRequest.id.desc()).limit(limit)))


def get_request(session: Session, counter: CounterSession, reference: str) -> tuple[CopyRequest, Citizen]:
    """One of the person's copy requests within reach, and the account it was filed in. Raises NotFound."""
    copy_request = session.scalar(select(CopyRequest).where(CopyRequest.reference == reference))
    if copy_request is None or copy_request.unit_id not in scope_ids(counter):
        raise NotFound()
    citizen = session.get(Citizen, copy_request.requester_id)
    if citizen is None or citizen.subject_id != counter.subject_id:
        raise NotFound()
    return copy_request, citizen


def rate(session: Session, counter: CounterSession, reference: str, scale_id: str, scores: Mapping,
         comment: str = "", *, change_days: int = ratings.DEFAULT_CHANGE_DAYS,
         scales: ratings.RatingScales | None = None, now: datetime | None = None):
    """Rate a handled request of the person as they say (`feedback.ratings.rate`, same rules).
    Raises NotFound, RatingClosed, InvalidRating."""
    copy_request, citizen = get_request(session, counter, reference)
    rating = ratings.rate(session, citizen, reference, scale_id, scores, comment, now=now,
                          change_days=change_days, scales=scales)
    _audit(session, counter, "counter.rate", f"record:{copy_request.record.source_id}",
           subject_id=counter.subject_id, details={"copy_request": reference, "rating": rating.id})
    return rating


# -- the end ------------------------------------------------------------------------------------

def end(session: Session, counter: CounterSession, reason: str, now: datetime | None = None) -> None:
    """End the session (``reason``: clerk, expired, replaced, too_many_codes, abandoned); a session
    that had started gets its summary queued, once."""
    now = now or utcnow()
    if counter.state == CounterState.ENDED:
        return
    started = counter.state == CounterState.ACTIVE
    counter.state = CounterState.ENDED.value
    counter.ended_at = min(now, counter.expires_at) if started and counter.expires_at else now
    counter.ended_reason = reason
    session.flush()
    _audit(session, counter, "counter.end", f"counter_session:{counter.id}", details={"reason": reason})
    if started:
        queue_summary(session, counter, now)


def queue_summary(session: Session, counter: CounterSession, now: datetime) -> bool:
    """Queue the summary mail of an ended session, once (a conditional update: two workers, or the
    task and a request, queue it once between them). No contact on file: nothing is mailed, the
    summary is printed at the counter."""
    claimed = session.execute(update(CounterSession).where(
        CounterSession.id == counter.id, CounterSession.summary_queued_at.is_(None))
        .values(summary_queued_at=now).execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return False
    session.expire(counter, ["summary_queued_at"])
    if counter.contact_email:
        outbox.add(session, TOPIC, f"summary:{counter.id}")
    return True


def close_expired(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """End the sessions whose time is up (and pending ones nobody confirmed); sessions ended."""
    now = now or utcnow()
    ended = 0
    for counter in session.scalars(select(CounterSession).where(
            CounterSession.state == CounterState.ACTIVE, CounterSession.expires_at <= now)):
        end(session, counter, "expired", now)
        ended += 1
    stale = now - timedelta(minutes=settings.session_minutes)
    for counter in session.scalars(select(CounterSession).where(
            CounterSession.state == CounterState.PENDING, CounterSession.created_at <= stale)):
        end(session, counter, "abandoned", now)
        ended += 1
    return ended


@dataclass(frozen=True)
class Action:
    at: datetime
    action: str
    source_id: str
    details: dict


def actions(session: Session, counter: CounterSession) -> list[Action]:
    """What the clerk did for the person in this session, oldest first (from the audit chain)."""
    if counter.started_at is None:
        return []
    entries = session.scalars(select(audit.AuditEntry).where(
        audit.AuditEntry.actor == counter.staff.audit_name, audit.AuditEntry.channel == CHANNEL,
        audit.AuditEntry.subject_id == counter.subject_id, audit.AuditEntry.at >= counter.started_at,
        audit.AuditEntry.at <= (counter.ended_at or utcnow()))
        .order_by(audit.AuditEntry.id))
    return [Action(at=e.at, action=e.action, source_id=e.object_ref.removeprefix("record:"),
                   details=e.details or {})
            for e in entries if (e.details or {}).get("counter_session") == counter.id]


def get_own_session(session: Session, staff: StaffUser, counter_id: int) -> CounterSession:
    """One of the clerk's own sessions (the printable summary). Raises NotFound for anyone else's."""
    counter = session.get(CounterSession, counter_id)
    if counter is None or counter.staff_id != staff.id:
        raise NotFound()
    return counter

