"""Staff accounts: password (argon2id), TOTP second factor, lockout, roles and units served.

Services only: no Flask request or session here. Each takes the database session and, where it
changes an account, the actor; it flushes but never commits. Views and the CLI own the transaction,
so an account change and its audit entry are committed together.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal import audit
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound
from portal.identity import sessions
from portal.identity.models import StaffRole, StaffUser
from portal.paging import Paged, page_count
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from portal.units.services import normalize_code

#: Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask more of staff).
MIN_PASSWORD_LENGTH = 12
#: Longest password accepted: argon2 hashes anything, but a megabyte "password" is a DoS.
MAX_PASSWORD_LENGTH = 256
#: TOTP codes from the previous and next 30-second step are accepted too (clock drift).
TOTP_WINDOW = 1

ROLES = tuple(role.value for role in StaffRole)

# argon2-cffi's defaults are RFC 9106's second recommended profile: argon2id, 64 MiB, t=3, p=4.
_hasher = PasswordHasher()


class LoginFailed(Exception):
    """Wrong username, password or code, or a locked or inactive account: one answer for all."""


class WeakPassword(InvalidInput):
    pass


@dataclass(frozen=True)
class CommandLine:
    """The operator at the server's shell (`flask staff …`): trusted like an admin, audited as such."""

    audit_name: str = "cli"


Actor = StaffUser | CommandLine


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config) -> LoginPolicy:
        return cls(max_failures=int(config["STAFF_MAX_FAILURES"]),
                   lockout=timedelta(minutes=int(config["STAFF_LOCKOUT_MINUTES"])))


# -- passwords -----------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def password_problems(password: str, username: str) -> list[str]:
    """Why a password is refused (English message ids, translated by the caller); empty when fine."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append("too_long")
    lowered = password.casefold()
    if username and username.casefold() in lowered:
        problems.append("contains_username")
    if password and len(set(password)) < 4:
        problems.append("too_simple")
    return problems


def check_password_policy(password: str, username: str) -> None:
    """Raises WeakPassword naming the first rule broken."""
    problems = password_problems(password, username)
    if problems:
        raise WeakPassword(problems[0])


def generate_password() -> str:
    """A random password that meets the policy, for an admin to hand over once."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
        password = "-".join(groups)
        if not password_problems(password, ""):
            return password


# -- login ---------------------------------------------------------------------------------------


def find_by_username(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower()))


def _is_locked(staff: StaffUser, now: datetime) -> bool:
    return staff.locked_until is not None and staff.locked_until > now


def _register_failure(session: Session, staff: StaffUser, now: datetime, policy: LoginPolicy) -> None:
    staff.failed_logins = (staff.failed_logins or 0) + 1
    if staff.failed_logins >= policy.max_failures:
        staff.locked_until = now + policy.lockout
        staff.failed_logins = 0
        # Someone is guessing this account's password or codes: its open sessions end too (the
        # loader refuses a locked account anyway; ending them keeps the session lists true).
        sessions.end_all(session, staff, "locked", now)
        # Single failures are not chained (a flood of guesses would flood the chain); a lock is.
        audit.record(session, actor="system", action="staff.locked", object_ref=f"staff:{staff.id}",
                     details={"failures": policy.max_failures, "until": staff.locked_until.isoformat()})


def check_password(session: Session, username: str, password: str, *, policy: LoginPolicy,
                   now: datetime | None = None) -> StaffUser:
    """First login step. Returns the account; raises LoginFailed (the same for every cause).

    A failure counts towards the lockout; success does not clear the count, only a complete login
    does, so a known password cannot be used to try second-factor codes without limit.
    """
    now = now or utcnow()
    staff = find_by_username(session, username)
    if staff is None:
        # Spend the same time as for a real account: response times must not tell who exists.
        _verify_hash(_dummy_hash(), password)
        raise LoginFailed()
    if _is_locked(staff, now) or not staff.active:
        _verify_hash(_dummy_hash(), password)
        raise LoginFailed()
    if not _verify_hash(staff.password_hash, password):
        _register_failure(session, staff, now, policy)
        session.flush()
        raise LoginFailed()
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
        session.flush()
    return staff


def _verify_hash(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def totp_clock() -> datetime:
    """The time TOTP codes are checked against when no ``now`` is given. Looked up at each check,
    so tests put a clock they move by hand in its place instead of waiting for the next step."""
    return utcnow()


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step whose code this is (within the window) and later than ``after``, if any."""
    code = "".join(code.split())
    if not (code.isdecimal() and len(code) == 6):
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_second_factor(session: Session, staff: StaffUser, code: str, *, policy: LoginPolicy,
                        now: datetime | None = None) -> None:
    """Second login step: a TOTP code not used before. Completes the login or raises LoginFailed."""
    totp_time = now or totp_clock()
    now = now or utcnow()
    if _is_locked(staff, now) or not staff.active or not staff.totp_secret:
        raise LoginFailed()
    step = _matching_step(staff.totp_secret, code, totp_time, staff.totp_last_step)
    if step is None:
        _register_failure(session, staff, now, policy)
        session.flush()
        raise LoginFailed()
    staff.totp_last_step = step
    _complete_login(session, staff, now)
    session.flush()


def _complete_login(session: Session, staff: StaffUser, now: datetime) -> None:
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    audit.record(session, actor=staff.audit_name, action="staff.login", object_ref=f"staff:{staff.id}")


def record_logout(session: Session, staff: StaffUser) -> None:
    audit.record(session, actor=staff.audit_name, action="staff.logout", object_ref=f"staff:{staff.id}")


# -- second factor enrolment ---------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    #: QR code of ``uri`` as an inline <svg> (no style attributes: the CSP forbids inline styles).
    qr_svg: str

    @property
    def secret_groups(self) -> str:
        """The secret in groups of four, as people type it into an authenticator app."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))


def enrolment(session: Session, staff: StaffUser, *, issuer: str) -> Enrolment:
    """The secret to enrol (made once and kept until confirmed, so a reload shows the same one)."""
    if staff.totp_secret:
        raise InvalidInput("already_enrolled")
    if not staff.totp_pending_secret:
        staff.totp_pending_secret = pyotp.random_base32()
        session.flush()
    return describe_secret(staff.totp_pending_secret, staff.username, issuer=issuer)


def describe_secret(secret: str, username: str, *, issuer: str) -> Enrolment:
    uri = _totp(secret).provisioning_uri(name=username, issuer_name=issuer)
    qr = segno.make(uri, error="m")
    return Enrolment(secret=secret, uri=uri, qr_svg=qr.svg_inline(scale=5, dark="#000", light="#fff"))


def confirm_enrolment(session: Session, staff: StaffUser, code: str, *, policy: LoginPolicy,
                      now: datetime | None = None) -> None:
    """A code from the new secret proves the app has it: the secret becomes the second factor and
    the login completes. Raises LoginFailed (counted towards the lockout)."""
    totp_time = now or totp_clock()
    now = now or utcnow()
    if _is_locked(staff, now) or not staff.active or not staff.totp_pending_secret or staff.totp_secret:
        raise LoginFailed()
    step = _matching_step(staff.totp_pending_secret, code, totp_time, None)
    if step is None:
        _register_failure(session, staff, now, policy)
        session.flush()
        raise LoginFailed()
    staff.totp_secret, staff.totp_pending_secret = staff.totp_pending_secret, None
    staff.totp_last_step = step
    _complete_login(session, staff, now)
    session.flush()


# -- units served --------------------------------------------------------------------------------


def resolve_units(session: Session, refs: Iterable[str]) -> list[AdminUnit]:
    """Current communes/wards by code ("00167" or "167") or slug. Raises InvalidInput naming the
    first one that is not a current unit."""
    units: list[AdminUnit] = []
    for ref in refs:
        ref = ref.strip()
        query = select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                        AdminUnit.level == UnitLevel.COMMUNE)
        if ref.isdecimal():
            query = query.where(AdminUnit.code == normalize_code(ref))
        else:
            query = query.where(AdminUnit.slug == ref.lower())
        unit = session.scalar(query)
        if unit is None:
            raise InvalidInput(f"unknown_unit:{ref}")
        if unit not in units:
            units.append(unit)
    return units


def list_current_units(session: Session) -> list[AdminUnit]:
    """The communes and wards a staff member can be given, by name."""
    from portal.units.services import list_current_communes

    return list_current_communes(session)


def units_by_ids(session: Session, ids: Iterable[int]) -> list[AdminUnit]:
    ids = set(ids)
    units = list(session.scalars(select(AdminUnit).where(
        AdminUnit.id.in_(ids), AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE)))
    if len(units) != len(ids):
        raise InvalidInput("unknown_unit")
    return sorted(units, key=lambda unit: unit.code)


# -- account administration ----------------------------------------------------------------------


def _require_admin(actor: Actor) -> None:
    if isinstance(actor, CommandLine):
        return
    if not (isinstance(actor, StaffUser) and actor.active and actor.role == StaffRole.ADMIN):
        raise Forbidden()


def _audit(session: Session, actor: Actor, verb: str, staff: StaffUser, **details) -> None:
    audit.record(session, actor=actor.audit_name, action=f"staff.{verb}", object_ref=f"staff:{staff.id}",
                 channel="cli" if isinstance(actor, CommandLine) else "web", details=details)


def get_staff(session: Session, actor: Actor, staff_id: int) -> StaffUser:
    """An account, for an admin. Raises Forbidden, NotFound."""
    _require_admin(actor)
    staff = session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound()
    return staff


def get_by_username(session: Session, actor: Actor, username: str) -> StaffUser:
    _require_admin(actor)
    staff = find_by_username(session, username)
    if staff is None:
        raise NotFound(username)
    return staff


@dataclass(frozen=True)
class StaffPage(Paged):
    items: list[StaffUser]
    total: int
    page: int
    per_page: int



def list_staff(session: Session, actor: Actor, *, query: str = "", page: int = 1,
               per_page: int = 25) -> StaffPage:
    """Accounts by username, optionally those whose username or name contains ``query``."""
    _require_admin(actor)
    where = []
    if query:
        pattern = f"%{query.strip().lower()}%"
        where.append(or_(func.lower(StaffUser.username).like(pattern),
                         func.lower(StaffUser.full_name).like(pattern)))
    total = session.scalar(select(func.count()).select_from(StaffUser).where(*where)) or 0
    page = max(1, min(page, page_count(total, per_page)))
    items = list(session.scalars(select(StaffUser).where(*where).order_by(StaffUser.username)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return StaffPage(items=items, total=total, page=page, per_page=per_page)


def create_staff(session: Session, actor: Actor, *, username: str, full_name: str, email: str = "",
                 role: str, units: list[AdminUnit], password: str) -> StaffUser:
    """A new account, second factor not yet enrolled. Raises Forbidden, InvalidInput, WeakPassword."""
    _require_admin(actor)
    username = username.strip()
    if not username or len(username) > 80 or not all(c.isalnum() or c in "._-" for c in username):
        raise InvalidInput("bad_username")
    if role not in ROLES:
        raise InvalidInput(f"unknown_role:{role}")
    if find_by_username(session, username) is not None:
        raise InvalidInput("username_taken")
    check_password_policy(password, username)
    staff = StaffUser(username=username, full_name=full_name.strip(), email=email.strip(), role=role,
                      password_hash=hash_password(password), units=list(units), active=True,
                      failed_logins=0)
    session.add(staff)
    session.flush()
    _audit(session, actor, "create", staff, role=role, units=[u.code for u in units])
    return staff


def update_staff(session: Session, actor: Actor, staff: StaffUser, *, full_name: str, email: str,
                 role: str, units: list[AdminUnit], active: bool) -> StaffUser:
    """Change name, e-mail, role, units served and whether the account may log in.

    An admin cannot demote or deactivate themselves: the last admin would lock everyone out.
    Raises Forbidden, InvalidInput.
    """
    _require_admin(actor)
    if role not in ROLES:
        raise InvalidInput(f"unknown_role:{role}")
    if actor is staff and (role != StaffRole.ADMIN or not active):
        raise InvalidInput("own_admin_rights")
    before = {"role": staff.role, "units": sorted(u.code for u in staff.units), "active": staff.active}
    staff.full_name, staff.email, staff.role = full_name.strip(), email.strip(), role
    staff.units = list(units)
    staff.active = active
    session.flush()
    if not active:
        sessions.end_all(session, staff, "deactivated")
    after = {"role": staff.role, "units": sorted(u.code for u in staff.units), "active": staff.active}
    _audit(session, actor, "update", staff, before=before, after=after)
    return staff


def unlock(session: Session, actor: Actor, staff: StaffUser) -> None:
    _require_admin(actor)
    staff.locked_until = None
    staff.failed_logins = 0
    session.flush()
    _audit(session, actor, "unlock", staff)


def reset_second_factor(session: Session, actor: Actor, staff: StaffUser) -> None:
    """The next login enrols a new authenticator (lost phone). Raises Forbidden."""
    _require_admin(actor)
    staff.totp_secret = None
    staff.totp_pending_secret = None
    staff.totp_last_step = None
    session.flush()
    # A lost phone may be a stolen one, with a logged-in browser: log in again with the new one.
    sessions.end_all(session, staff, "otp_reset")
    _audit(session, actor, "reset_otp", staff)


def set_password(session: Session, actor: Actor, staff: StaffUser, password: str) -> None:
    """An admin sets a new password (forgotten one). Raises Forbidden, WeakPassword."""
    _require_admin(actor)
    check_password_policy(password, staff.username)
    staff.password_hash = hash_password(password)
    session.flush()
    # A password is reset when forgotten or when someone else may know it: sessions end with it.
    sessions.end_all(session, staff, "password_reset")
    _audit(session, actor, "set_password", staff)


def open_sessions(session: Session, actor: Actor, staff: StaffUser,
                  policy: sessions.SessionPolicy) -> list[sessions.LoginSession]:
    """The sessions of ``staff`` that would open a page now, for an admin. Raises Forbidden."""
    _require_admin(actor)
    return sessions.open_sessions(session, staff, policy)


def end_sessions(session: Session, actor: Actor, staff: StaffUser) -> int:
    """An admin logs ``staff`` out everywhere (a lost laptop, a shared computer left logged in).
    Returns how many sessions were open. Raises Forbidden."""
    _require_admin(actor)
    ended = sessions.end_all(session, staff, "ended_by_admin")
    _audit(session, actor, "end_sessions", staff, sessions=ended)
    return ended


def is_locked(staff: StaffUser, now: datetime | None = None) -> bool:
    return _is_locked(staff, now or utcnow())


# -- demo accounts (PORTAL_ENV=development only; the CLI checks) ---------------------------------


def ensure_demo_account(session: Session, *, username: str, full_name: str, role: str,
                        units: list[AdminUnit], password: str, totp_secret: str) -> StaffUser:
    """Create a demo account with a known password and TOTP secret, or leave an existing one be."""
    staff = find_by_username(session, username)
    if staff is not None:
        return staff
    staff = create_staff(session, CommandLine("cli:demo"), username=username, full_name=full_name,
                         role=role, units=units, password=password)
    staff.totp_secret = totp_secret
    session.flush()
    return staff
