"""Who is who: the people and organizations results are about (`Subject`), and who logs in:
citizens and businesses (national SSO, OpenID Connect) and one-stop-shop staff.

A citizen's personal id lives once, on their `Subject` (the same row their results point to);
the account keeps only the link, keyed on (issuer, sub) as OpenID Connect asks.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, TimestampMixin, UTCDateTime
from portal.units.models import AdminUnit


class SubjectKind(StrEnum):
    INDIVIDUAL = "individual"
    ORGANIZATION = "organization"


class Subject(Base, TimestampMixin):
    """The person or organization a result is about. id_number is personal data."""

    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("kind", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    #: 12-digit personal id, or a 10-digit (or 10-3) enterprise/tax code.
    id_number: Mapped[str] = mapped_column(String(14), index=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)


class Citizen(Base, TimestampMixin):
    """A person or a business representative who logged in through the national SSO."""

    __tablename__ = "citizen"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300))
    sub: Mapped[str] = mapped_column(String(255))
    #: SubjectKind: an individual's account, or an organization account (LoaiTaiKhoan).
    account_type: Mapped[str] = mapped_column(String(20), default=SubjectKind.INDIVIDUAL.value)
    #: Display name from the last login (HoVaTen).
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Level of assurance of the last login (from `acr`), 0 when the SSO sent none; for the record
    #: only: what a session may do is the level of its own login (identity.citizens.LOA_KEY).
    loa: Mapped[int] = mapped_column(Integer, default=0)
    #: The person themselves (their personal id and birth date live there, once).
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    #: Organization accounts: the enterprise this person represents.
    organization_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    subject: Mapped[Subject | None] = relationship(foreign_keys=[subject_id])
    organization: Mapped[Subject | None] = relationship(foreign_keys=[organization_subject_id])

    # flask-login
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"citizen:{self.id}"

    @property
    def audit_name(self) -> str:
        return f"citizen:{self.id}"

    @property
    def subject_ids(self) -> set[int]:
        """Subjects whose personal results this account may read: itself and its organization."""
        return {i for i in (self.subject_id, self.organization_subject_id) if i is not None}


class StaffRole(StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    #: A digitization operator: uploads batches for the units served and reads their reports.
    OPERATOR = "operator"
    ADMIN = "admin"


staff_unit = Table(
    "staff_unit",
    Base.metadata,
    Column("staff_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("admin_unit.id"), primary_key=True),
)


class StaffUser(Base, TimestampMixin):
    """A one-stop-shop officer with a local account (password + TOTP), serving current units."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=StaffRole.CLERK.value)
    #: Base32 TOTP secret; None until the second factor is enrolled.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: Last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Secret shown on the enrolment page, kept until a code from it is confirmed (never in a cookie).
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    #: Current communes/wards served; a unit stands for the old units merged into it too.
    units: Mapped[list[AdminUnit]] = relationship(secondary=staff_unit, lazy="selectin")

    # flask-login
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"staff:{self.id}"

    @property
    def audit_name(self) -> str:
        return f"staff:{self.id}"


class LoginSession(Base):
    """One login, kept on the server: the signed cookie holds a random token, this row its SHA-256.

    The cookie alone proves nothing any more: a request is logged in only while its row is open
    (no ``ended_at``), used within the idle timeout and younger than the absolute lifetime
    (`portal.identity.sessions`). Logout, an admin, a lock or a deactivation end the row, and with
    it every copy of the cookie. One column per kind of account, each a real foreign key: a row
    cannot outlive its account, and the loader joins the account on an indexed key.
    """

    __tablename__ = "login_session"
    __table_args__ = (
        CheckConstraint("(staff_id IS NULL) <> (citizen_id IS NULL)", name="one_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 (hex) of the token in the cookie: the table alone opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: Last request seen, written at most once a minute (`sessions.TOUCH_EVERY`), not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: logout, idle, expired, ended_by_admin, locked, deactivated, password_reset, otp_reset.
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    #: The browser's User-Agent at login (cut short), so that a person can tell their sessions apart.
    user_agent: Mapped[str] = mapped_column(String(200), default="")
