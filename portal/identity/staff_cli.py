"""``flask staff …``: create staff accounts, unlock them, reset their second factor; demo accounts.

The operator at the server's shell acts as `CommandLine` (audited as "cli"). Every command writes
all or nothing: on an error it rolls back and exits non-zero.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from portal.errors import InvalidInput, NotFound
from portal.identity import staff as service
from portal.identity.models import StaffRole
from portal.records import services as records

staff_cli = AppGroup("staff", help="Tài khoản cán bộ / Staff accounts.")

ENROLMENT_HINT = (
    "Lần đăng nhập đầu tiên tại /staff/login sẽ hướng dẫn cài ứng dụng xác thực (mã QR).\n"
    "At the first login on /staff/login the account sets up its authenticator app (QR code, TOTP)."
)

#: Demo accounts (PORTAL_ENV=development only): documented in docs/staff.md, never for real use.
DEMO_PASSWORD = "demo-Hanoi-2025"
DEMO_ACCOUNTS = (
    # username, full name, role, TOTP secret (base32, printed so a newcomer can add it to an app)
    ("demo.clerk", "Nguyễn Văn An (demo)", StaffRole.CLERK, "JBSWY3DPEHPK3PXPDEMOCLERK2345672"),
    ("demo.supervisor", "Trần Thị Bình (demo)", StaffRole.SUPERVISOR, "JBSWY3DPEHPK3PXPDEMOSUPERVISOR22"),
    ("demo.operator", "Phạm Thu Dung (demo)", StaffRole.OPERATOR, "JBSWY3DPEHPK3PXPDEMOOPERATOR2345"),
    ("demo.admin", "Lê Minh Châu (demo)", StaffRole.ADMIN, "JBSWY3DPEHPK3PXPDEMOADMIN2345672"),
)


def _session():
    from portal.extensions import db

    return db.session


def _fail(session, message: str):
    session.rollback()
    raise click.ClickException(message)


@staff_cli.command("create")
@click.option("--username", required=True, help="Tên đăng nhập / login name.")
@click.option("--name", "full_name", required=True, help="Họ và tên / full name.")
@click.option("--email", default="", help="Thư điện tử / e-mail.")
@click.option("--role", type=click.Choice(service.ROLES), default=StaffRole.CLERK.value, show_default=True,
              help="Vai trò / role.")
@click.option("--unit", "units", multiple=True,
              help="Mã hoặc slug xã/phường hiện nay / code or slug of a current commune or ward "
                   "(repeatable).")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ stdin / read the password from stdin.")
def create_command(username: str, full_name: str, email: str, role: str, units: tuple[str, ...],
                   password_stdin: bool) -> None:
    """Tạo tài khoản cán bộ / Create a staff account."""
    session = _session()
    try:
        unit_rows = service.resolve_units(session, units)
    except InvalidInput as error:
        ref = str(error).partition(":")[2]
        _fail(session, f"Không có xã/phường hiện nay / no current commune or ward: {ref!r} "
                       "(see /units for codes and slugs)")
    if service.find_by_username(session, username) is not None:
        _fail(session, f"Tên đăng nhập đã có / username already exists: {username!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    try:
        staff = service.create_staff(session, service.CommandLine(), username=username, full_name=full_name,
                                     email=email, role=role, units=unit_rows, password=password)
    except service.WeakPassword as error:
        _fail(session, f"Mật khẩu yếu / weak password ({error}): at least {service.MIN_PASSWORD_LENGTH} "
                       "characters, not containing the username, at least 4 different characters.")
    except InvalidInput as error:
        _fail(session, f"Không hợp lệ / invalid: {error}")
    session.commit()
    served = ", ".join(f"{unit.name} ({unit.code})" for unit in unit_rows) or "—"
    click.echo(f"Đã tạo / created: {staff.username} (staff:{staff.id}), {staff.role}; units: {served}")
    click.echo(ENROLMENT_HINT)


def _account(session, username: str):
    try:
        return service.get_by_username(session, service.CommandLine(), username)
    except NotFound:
        _fail(session, f"Không có tài khoản / no such account: {username!r}")


@staff_cli.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """Mở khóa sau khi nhập sai nhiều lần / Unlock after repeated failures."""
    session = _session()
    staff = _account(session, username)
    service.unlock(session, service.CommandLine(), staff)
    session.commit()
    click.echo(f"Đã mở khóa / unlocked: {staff.username}")


@staff_cli.command("reset-otp")
@click.argument("username")
def reset_otp_command(username: str) -> None:
    """Xóa ứng dụng xác thực (mất điện thoại) / Reset the second factor (lost phone)."""
    session = _session()
    staff = _account(session, username)
    service.reset_second_factor(session, service.CommandLine(), staff)
    session.commit()
    click.echo(f"Đã đặt lại yếu tố thứ hai / second factor reset: {staff.username}")
    click.echo(ENROLMENT_HINT)


@staff_cli.command("list")
def list_command() -> None:
    """Liệt kê tài khoản / List accounts."""
    session = _session()
    page, number = None, 1
    while page is None or number <= page.pages:
        page = service.list_staff(session, service.CommandLine(), page=number, per_page=200)
        for staff in page.items:
            units = ",".join(unit.code for unit in staff.units) or "-"
            states = (("inactive", not staff.active), ("locked", service.is_locked(staff)),
                      ("no-otp", not staff.totp_secret))
            flags = [flag for flag, on in states if on]
            click.echo(f"{staff.username}\t{staff.role}\t{units}\t{' '.join(flags)}")
        number += 1


@staff_cli.command("demo-accounts")
def demo_accounts_command() -> None:
    """Tài khoản mẫu (chỉ khi phát triển) / Demo accounts (development only); idempotent."""
    if current_app.config["ENV"] != "development":
        raise click.ClickException("Chỉ khi PORTAL_ENV=development / only with PORTAL_ENV=development.")
    session = _session()
    ward = records.busiest_ward(session)
    if ward is None:
        _fail(session, "Chưa có đơn vị / no units loaded: run `flask refdata` first.")
    issuer = current_app.config["STAFF_TOTP_ISSUER"]
    click.echo("==> Tài khoản cán bộ mẫu / DEMO staff accounts (development only, never in production)")
    click.echo(f"    mật khẩu / password: {DEMO_PASSWORD}   đăng nhập / login: /staff/login")
    for username, full_name, role, secret in DEMO_ACCOUNTS:
        staff = service.ensure_demo_account(session, username=username, full_name=full_name, role=role,
                                            units=[ward], password=DEMO_PASSWORD, totp_secret=secret)
        olds = len(ward.predecessor_links)
        click.echo(f"    {username:<16} {role:<10} {ward.name} ({ward.code}, +{olds} old units)  "
                   f"TOTP secret: {secret}")
        click.echo(f"      {service.describe_secret(staff.totp_secret, username, issuer=issuer).uri}")
    session.commit()
