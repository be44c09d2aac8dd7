"""`flask files audit [--sample N]`: re-hash stored files; exit 1 naming each missing or altered one."""

from __future__ import annotations

import getpass
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.files.store import FileStore
from portal.fixity import services

files_cli = AppGroup("files", help="Kho tệp / The file store.")


@files_cli.command("audit")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Chỉ N tệp chọn ngẫu nhiên / only N files drawn at random (default: every file).")
def audit_command(sample: int | None) -> None:
    """Đọc lại và băm lại các tệp đã lưu / Re-hash stored files against their recorded sha256."""
    try:
        actor = f"cli:{getpass.getuser()}"[:80]
    except Exception:  # no user name in some containers
        actor = "cli"
    config = current_app.config
    run = services.audit_files(db.session, FileStore.from_config(config), actor=actor, trigger="cli",
                               sample=sample, admin_emails=config["ADMIN_EMAILS"])
    for problem in run.problems:
        found = problem.found or "—"
        click.echo(f"{problem.outcome.upper()}: {problem.path}\n  expected sha256 {problem.sha256}\n"
                   f"  found {found}" + (f"\n  used by {problem.used_by}" if problem.used_by else ""))
    click.echo(f"Lần kiểm tra / run {run.id}: đã kiểm tra / checked {run.checked} trên / of {run.stored}, "
               f"mất / missing {run.missing}, bị thay đổi / altered {run.altered}, "
               f"không đọc được / unreadable {run.unreadable}; "
               f"{run.bytes_read / 1e6:.1f} MB, {services.speed(run):.1f} MB/s.")
    if run.failed:
        told = run.notified or "không ai / nobody (PORTAL_ADMIN_EMAILS)"
        click.echo(f"Đã báo / admins told: {told}")
        sys.exit(1)
