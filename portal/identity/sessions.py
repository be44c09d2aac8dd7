"""Login sessions kept on the server: logout, an admin, a lock or a deactivation end them for good.

The signed Flask cookie carries a random token (``TOKEN_KEY``); the `LoginSession` row keeps only
its SHA-256. A request is logged in while its row is open, was used within the idle timeout and is
younger than the absolute lifetime of its kind of account (``SessionPolicy``). Without this, the
cookie was the whole session: a copy saved before logout kept working.

``last_seen_at`` is written at most once per ``TOUCH_EVERY``, not on every request: the idle
timeout is then exact to within that minute, and a logged-in page costs no write most of the time.

Services only: no Flask request here; they flush but never commit (the caller does).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.identity.models import Citizen, LoginSession, StaffUser

#: Where the Flask session keeps the token of its server-side row.
TOKEN_KEY = "login_token"
#: ``last_seen_at`` is written again only when older than this.
TOUCH_EVERY = timedelta(minutes=1)
#: Longest User-Agent kept (the column's size).
USER_AGENT_LENGTH = 200

Account = StaffUser | Citizen

__all__ = ["LoginSession", "SessionPolicy", "TOKEN_KEY", "end", "end_all", "open_sessions", "purge",
           "resume", "start"]


@dataclass(frozen=True)
class SessionPolicy:
    #: Ended after this long without a request.
    idle: timedelta
    #: Ended this long after the login, however busy.
    lifetime: timedelta

    @classmethod
    def from_config(cls, config, kind: str) -> SessionPolicy:
        """The policy of ``kind`` ("staff" or "citizen") from the app's settings."""
        prefix = kind.upper()
        return cls(idle=timedelta(minutes=int(config[f"{prefix}_IDLE_MINUTES"])),
                   lifetime=timedelta(hours=float(config[f"{prefix}_SESSION_HOURS"])))


def clock() -> datetime:
    """The time sessions are checked against. Looked up at each call, so tests put a clock they
    move by hand in its place instead of waiting a quarter of an hour."""
    return utcnow()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _owner(account: Account) -> dict[str, int]:
    return {"staff_id": account.id} if isinstance(account, StaffUser) else {"citizen_id": account.id}


def start(session: Session, account: Account, *, user_agent: str = "", now: datetime | None = None) -> str:
    """Open a session for ``account``; returns the token to put in the cookie (never stored)."""
    now = now or clock()
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=hash_token(token), created_at=now, last_seen_at=now,
                             user_agent=(user_agent or "")[:USER_AGENT_LENGTH], **_owner(account)))
    session.flush()
    return token


@dataclass(frozen=True)
class Resumed:
    #: The account the token opens, or None (no such session, or it is over).
    account: Account | None
    #: The row was changed (seen again, or ended now): the caller commits.
    written: bool = False


def _why_over(login: LoginSession, account: Account, policy: SessionPolicy, now: datetime) -> str | None:
    if login.ended_at is not None:
        return login.ended_reason
    if isinstance(account, StaffUser):
        if not account.active:
            return "deactivated"
        if account.locked_until is not None and account.locked_until > now:
            return "locked"
    if now - login.created_at >= policy.lifetime:
        return "expired"
    if now - login.last_seen_at >= policy.idle:
        return "idle"
    return None


def resume(session: Session, kind: str, account_id: int, token: str | None, policy: SessionPolicy,
           now: datetime | None = None) -> Resumed:
    """The account behind ``token``, in one statement (the row joined to its account).

    A session found over is ended here (with why), so that lists of open sessions stay true.
    """
    model = {"staff": StaffUser, "citizen": Citizen}.get(kind)
    if model is None or not token:
        return Resumed(None)
    now = now or clock()
    owner = LoginSession.staff_id if model is StaffUser else LoginSession.citizen_id
    query = (select(model, LoginSession).join(LoginSession, owner == model.id)
             .where(LoginSession.token_hash == hash_token(token), model.id == account_id))
    found = session.execute(query).first()
    if found is None:
        return Resumed(None)
    account, login = found
    reason = _why_over(login, account, policy, now)
    if reason is not None:
        if login.ended_at is not None:
            return Resumed(None)
        login.ended_at, login.ended_reason = now, reason
        return Resumed(None, written=True)
    if now - login.last_seen_at >= TOUCH_EVERY:
        login.last_seen_at = now
        return Resumed(account, written=True)
    return Resumed(account)


def end(session: Session, token: str | None, reason: str = "logout", now: datetime | None = None) -> None:
    """End the session of ``token`` (logout)."""
    if token:
        _end_where(session, LoginSession.token_hash == hash_token(token), reason, now)


def end_all(session: Session, account: Account, reason: str, now: datetime | None = None) -> int:
    """End every open session of ``account``; returns how many were open."""
    column = LoginSession.staff_id if isinstance(account, StaffUser) else LoginSession.citizen_id
    return _end_where(session, column == account.id, reason, now)


def _end_where(session: Session, condition, reason: str, now: datetime | None) -> int:
    result = session.execute(update(LoginSession).where(condition, LoginSession.ended_at.is_(None))
                             .values(ended_at=now or clock(), ended_reason=reason))
    session.flush()
    return result.rowcount


def open_sessions(session: Session, staff: StaffUser, policy: SessionPolicy,
                  now: datetime | None = None) -> list[LoginSession]:
    """The sessions of ``staff`` that would still open a page now, newest first."""
    now = now or clock()
    return list(session.scalars(
        select(LoginSession).where(LoginSession.staff_id == staff.id, LoginSession.ended_at.is_(None),
                                   LoginSession.created_at > now - policy.lifetime,
                                   LoginSession.last_seen_at > now - policy.idle)
        .order_by(LoginSession.last_seen_at.desc())))


def purge(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete sessions started more than ``older_than`` ago (all over long since: no lifetime is
    that long). Returns how many."""
    cutoff = (now or clock()) - older_than
    return session.execute(delete(LoginSession).where(LoginSession.created_at < cutoff)).rowcount
