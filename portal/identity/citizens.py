"""Citizen and business accounts: recording a login, and the level of assurance actions need."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.identity import current_citizen, current_staff
from portal.identity.models import Citizen, Subject, SubjectKind
from portal.identity.oidc import Identity


def record_login(session: Session, identity: Identity) -> Citizen:
    """The account of ``identity`` (created on first login), linked to its subject. Flushes, never commits.

    An individual's account points to the Subject holding their personal id (the one their results
    already point to, if any); an organization account to the organization's Subject only: the
    representative sees the organization's results there, and their own through their own login.
    """
    citizen = session.scalar(select(Citizen).where(Citizen.issuer == identity.issuer,
                                                   Citizen.sub == identity.sub))
    if citizen is None:
        citizen = Citizen(issuer=identity.issuer, sub=identity.sub)
        session.add(citizen)
    citizen.account_type = identity.account_type.value
    citizen.name = identity.name
    citizen.loa = identity.loa
    citizen.last_login_at = utcnow()
    if identity.account_type == SubjectKind.ORGANIZATION:
        citizen.subject = None
        citizen.organization = _subject(session, SubjectKind.ORGANIZATION, identity.org_code,
                                        identity.org_name)
    else:
        citizen.organization = None
        citizen.subject = _subject(session, SubjectKind.INDIVIDUAL, identity.id_number, identity.name)
        if citizen.subject.birth_date is None:
            citizen.subject.birth_date = identity.birth_date
    session.flush()
    return citizen


def _subject(session: Session, kind: SubjectKind, id_number: str, name: str) -> Subject:
    """The subject with this id number, created when no result names it yet."""
    query = select(Subject).where(Subject.kind == kind.value, Subject.id_number == id_number)
    subject = session.scalar(query)
    if subject is not None:
        return subject
    try:
        with session.begin_nested():  # two first logins at once: the second finds the first's row
            subject = Subject(kind=kind.value, id_number=id_number, name=name or id_number)
            session.add(subject)
    except IntegrityError:
        subject = session.scalar(query)
    return subject


#: The level of assurance of this very login, in its (signed) session. The account's row is shared
#: by every login of the person, each at its own level: a level-1 session must not read personal
#: data because the same person logged in elsewhere at level 2 (nor lose it the other way round).
LOA_KEY = "citizen_loa"


def remember_login_level(identity: Identity) -> None:
    """Keep the level this login reached with the session it opens (call right after login_user)."""
    session[LOA_KEY] = int(identity.loa)


def forget_login_level() -> None:
    session.pop(LOA_KEY, None)


def login_loa() -> int:
    """The level of assurance of the current citizen's login (0 when there is none)."""
    return int(session.get(LOA_KEY, 0))


def required_loa(action: str) -> int:
    return int(current_app.config["REQUIRED_LOA"].get(action, 0))


def has_loa(citizen: Citizen | None, action: str) -> bool:
    """Whether the current login of ``citizen`` reached REQUIRED_LOA[action] (per session, not per
    account: see LOA_KEY)."""
    return citizen is not None and login_loa() >= required_loa(action)


def reading_actor():
    """Whom services should treat as the reader of personal data on this request, or None.

    Staff, or a citizen whose login reached REQUIRED_LOA["view_personal"]: a lower level reads
    like an anonymous visitor (and "my results" explains why).
    """
    citizen = current_citizen()
    if citizen is not None:
        return citizen if has_loa(citizen, "view_personal") else None
    return current_staff()


def login_url_here() -> str:
    """The login page, coming back to this very page afterwards."""
    here = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    return url_for("identity.login", next=here)


def require_loa(action: str) -> Callable:
    """Views for logged-in citizens whose login reached REQUIRED_LOA[action].

    Anonymous visitors go to the login page (and come back); a lower level gets a page saying
    which level is needed and how to reach it (403).
    """
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            citizen = current_citizen()
            if citizen is None:
                return redirect(login_url_here())
            if not has_loa(citizen, action):
                return render_template("identity/loa_too_low.html", needed=required_loa(action),
                                       current=login_loa()), 403
            return view(*args, **kwargs)
        return guarded
    return decorator
