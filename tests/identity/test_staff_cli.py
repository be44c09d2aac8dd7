"""`flask staff …`: accounts from the command line, all or nothing."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.identity import staff as service
from portal.identity.models import StaffUser
from portal.identity.staff_cli import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.identity.staff_builders import form_token

GOOD = "mot-mat-khau-du-dai"


def create(runner, *args, password=GOOD):
    args = ["staff", "create", "--username", "le.thi.hoa", "--name", "Lê Thị Hoa",
            "--email", "hoa@hanoi.gov.vn", *args, "--password-stdin"]
    return runner.invoke(args=args, input=password + "\n")


def staff_count() -> int:
    return db.session.scalar(select(func.count()).select_from(StaffUser))


def test_create_a_clerk_of_two_wards(runner):
    result = create(runner, "--role", "clerk", "--unit", "phuong-cau-giay", "--unit", "00004")
    assert result.exit_code == 0, result.output
    assert "le.thi.hoa" in result.output and "/staff/login" in result.output  # the enrolment hint
    staff = service.find_by_username(db.session, "le.thi.hoa")
    assert staff.role == "clerk" and staff.full_name == "Lê Thị Hoa" and staff.totp_secret is None
    assert {unit.slug for unit in staff.units} >= {"phuong-cau-giay"} and len(staff.units) == 2
    assert staff.password_hash.startswith("$argon2id$") and GOOD not in staff.password_hash
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.create")).one()
    assert entry.actor == "cli" and entry.object_ref == f"staff:{staff.id}" and entry.channel == "cli"


def test_the_password_prompt_is_confirmed(runner):
    result = runner.invoke(args=["staff", "create", "--username", "tran.van.nam", "--name", "Trần Văn Nam",
                                 "--role", "supervisor", "--unit", "phuong-cau-giay"],
                           input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert GOOD not in result.output  # hidden input is not echoed
    assert service.find_by_username(db.session, "tran.van.nam").role == "supervisor"


@pytest.mark.parametrize("args, password, message", [
    (["--unit", "phuong-khong-co"], GOOD, "phuong-khong-co"),
    (["--unit", "99999"], GOOD, "99999"),
    (["--unit", "phuong-cau-giay"], "short", "weak password"),
    (["--unit", "phuong-cau-giay"], "le.thi.hoa-2025-pw", "weak password"),
    (["--role", "boss"], GOOD, "boss"),
])
def test_errors_write_nothing(runner, args, password, message):
    result = create(runner, *args, password=password)
    assert result.exit_code != 0
    assert message in result.output
    assert staff_count() == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_an_old_unit_is_refused_with_a_pointer_to_current_ones(runner, db_session):
    from tests.web.conftest import legacy_unit_with_successor

    old = legacy_unit_with_successor(db_session)
    result = create(runner, "--unit", old.code)
    assert result.exit_code != 0 and "no current commune or ward" in result.output


def test_an_existing_username_is_refused(runner, make_staff):
    make_staff(username="le.thi.hoa")
    result = create(runner, "--unit", "phuong-cau-giay")
    assert result.exit_code != 0 and "already exists" in result.output
    assert staff_count() == 1


def test_unlock_and_reset_otp(runner, make_staff, db_session):
    staff = make_staff()
    policy = service.LoginPolicy(max_failures=1)
    with pytest.raises(service.LoginFailed):
        service.check_password(db_session, staff.username, "wrong-password-123", policy=policy)
    db_session.commit()
    assert service.is_locked(staff)
    assert runner.invoke(args=["staff", "unlock", staff.username]).exit_code == 0
    db_session.refresh(staff)
    assert not service.is_locked(staff)
    assert runner.invoke(args=["staff", "reset-otp", staff.username]).exit_code == 0
    db_session.refresh(staff)
    assert staff.totp_secret is None
    actions = db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["staff.locked", "staff.unlock", "staff.reset_otp"]
    result = runner.invoke(args=["staff", "unlock", "nobody"])
    assert result.exit_code != 0 and "no such account" in result.output


def test_list_shows_role_units_and_state(runner, make_staff):
    make_staff(role="supervisor", units=["phuong-cau-giay"], username="giam.sat", enrolled=False)
    result = runner.invoke(args=["staff", "list"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("giam.sat"))
    assert "supervisor" in line and "no-otp" in line


def test_demo_accounts_only_in_development(runner):
    result = runner.invoke(args=["staff", "demo-accounts"])
    assert result.exit_code != 0 and "PORTAL_ENV=development" in result.output
    assert staff_count() == 0


def test_demo_accounts_are_idempotent_and_a_newcomer_can_log_in(make_app, make_staff):
    app = make_app(ENV="development")
    with app.app_context():
        runner = app.test_cli_runner()
        first = runner.invoke(args=["staff", "demo-accounts"])
        assert first.exit_code == 0, first.output
        assert DEMO_PASSWORD in first.output and DEMO_ACCOUNTS[0][3] in first.output
        again = runner.invoke(args=["staff", "demo-accounts"])
        assert again.exit_code == 0 and staff_count() == len(DEMO_ACCOUNTS)
        clerk = service.find_by_username(db.session, "demo.clerk")
        assert clerk.units and clerk.role == "clerk"
        # what docs/staff.md tells a newcomer: the password, then a code from the printed secret
        client = app.test_client()
        client.post("/staff/login", data={"username": "demo.clerk", "password": DEMO_PASSWORD,
                                          "csrf_token": form_token(client, "/staff/login")})
        code = pyotp.TOTP(DEMO_ACCOUNTS[0][3]).now()
        token = form_token(client, "/staff/login/otp")
        response = client.post("/staff/login/otp", data={"code": code, "csrf_token": token})
        assert response.location.endswith("/staff/")
        assert clerk.units[0].name in client.get("/staff/").get_data(as_text=True)
