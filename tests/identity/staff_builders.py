"""Builders for staff tests, shared with every test directory through tests/conftest.py.

- ``make_staff(role=..., units=[...], password=...)`` → a committed `StaffUser` with a TOTP
  secret enrolled (``enrolled=False`` for none); ``units`` takes units, codes or slugs of current
  communes/wards. The password is kept on the object as ``staff.test_password``.
- ``login_staff(client, staff)`` logs in through the real pages: password, then a TOTP code
  computed with pyotp (one the account has not used yet, as the portal requires).
- ``totp_clock`` puts a hand-moved clock in place of the one the portal checks TOTP codes against
  (``portal.identity.staff.totp_clock``); ``unused_code(staff, totp_clock)`` moves it to the next
  30-second step when the current one is spent, as a person would wait for a new code.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.identity import staff as staff_service
from portal.identity.models import StaffUser
from portal.units.models import AdminUnit

#: Default password of built accounts (meets the policy).
STAFF_PASSWORD = "correct-horse-battery-staple"

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def form_token(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1)


class TotpClock:
    """The time the portal checks TOTP codes against, standing still until a test moves it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def totp_clock(monkeypatch) -> TotpClock:
    # A fixed instant, not the wall clock: a code and its check never straddle a step boundary.
    clock = TotpClock(datetime(2025, 7, 1, 1, 0, tzinfo=UTC))
    monkeypatch.setattr(staff_service, "totp_clock", clock)
    return clock


def unused_code(staff: StaffUser, clock: TotpClock) -> str:
    """The code of the clock's current step; when the account has used that step (or a later
    one) already, the clock first moves on to the step after the last used."""
    db.session.refresh(staff)
    totp = pyotp.TOTP(staff.totp_secret)
    if staff.totp_last_step is not None and totp.timecode(clock()) <= staff.totp_last_step:
        clock.now = datetime.fromtimestamp((staff.totp_last_step + 1) * totp.interval, UTC)
    return totp.at(clock())


@pytest.fixture
def make_staff(app):
    numbers = itertools.count(1)

    def build(role: str = "clerk", units=(), password: str = STAFF_PASSWORD, *, username: str | None = None,
              full_name: str | None = None, enrolled: bool = True, active: bool = True) -> StaffUser:
        resolved = [u if isinstance(u, AdminUnit) else None for u in units]
        refs = [u for u in units if not isinstance(u, AdminUnit)]
        unit_rows = [u for u in resolved if u is not None] + staff_service.resolve_units(db.session, refs)
        n = next(numbers)
        username = username or f"{role}{n}"
        staff = StaffUser(username=username, full_name=full_name or f"Cán bộ {n}",
                          email=f"{username}@example.vn",
                          role=role, password_hash=staff_service.hash_password(password), units=unit_rows,
                          totp_secret=pyotp.random_base32() if enrolled else None, active=active,
                          failed_logins=0)
        db.session.add(staff)
        db.session.commit()
        staff.test_password = password
        return staff

    return build


@pytest.fixture
def login_staff(app, totp_clock):
    def login(client, staff: StaffUser, password: str | None = None):
        password = password or getattr(staff, "test_password", STAFF_PASSWORD)
        response = client.post("/staff/login", data={
            "username": staff.username, "password": password,
            "csrf_token": form_token(client, "/staff/login")})
        assert response.status_code == 302, "password step refused"
        assert response.location.endswith("/staff/login/otp"), response.location
        response = client.post("/staff/login/otp", data={
            "code": unused_code(staff, totp_clock), "csrf_token": form_token(client, "/staff/login/otp")})
        assert response.status_code == 302, "second factor refused"
        return response

    return login


def current_unit(session, slug: str) -> AdminUnit:
    return session.scalar(select(AdminUnit).where(AdminUnit.system == "current", AdminUnit.slug == slug))
