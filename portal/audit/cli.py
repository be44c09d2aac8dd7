"""`flask audit`: verify the chain against its keys and checkpoints; make a key; write a checkpoint."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.audit import keys
from portal.audit.chain import AuditEntry, ChainReport, current, verify

audit_cli = AppGroup("audit", help="Nhật ký truy cập / Audit log.")


def _describe(report: ChainReport) -> None:
    if report.legacy:
        click.echo(f"Đoạn cũ (SHA-256 không khóa, trước khi có khóa): {report.legacy:,} mục / "
                   f"legacy segment (plain SHA-256, before the audit key): {report.legacy:,} entries")
    for key_id, count in report.keyed.items():
        click.echo(f"Khóa {key_id}: {count:,} mục / key {key_id}: {count:,} entries")
    if report.checkpoint:
        cp = report.checkpoint
        lines = report.checkpoint_lines
        click.echo(f"Mốc kiểm tra mới nhất: mục #{cp.id} lúc {cp.at} ({lines:,} dòng hợp lệ) / "
                   f"newest checkpoint: entry #{cp.id} at {cp.at} ({lines:,} valid lines)")


@audit_cli.command("verify")
def verify_command() -> None:
    """Kiểm tra chuỗi nhật ký với khóa và mốc kiểm tra / Check the audit chain, its keys and checkpoints."""
    from portal.extensions import db

    report = verify(db.session)
    _describe(report)
    if report.ok:
        click.echo(f"Chuỗi nhật ký nguyên vẹn: {report.checked:,} mục / "
                   f"the audit chain holds: {report.checked:,} entries")
        return
    problem = report.problem
    where = f" tại mục #{problem.entry}" if problem.entry else ""
    click.echo(f"Chuỗi nhật ký bị phá vỡ{where} (sau {report.checked:,} mục hợp lệ): {problem.vi} / "
               f"the audit chain is broken: {problem.en}", err=True)
    raise SystemExit(1)


@audit_cli.command("new-key")
def new_key_command() -> None:
    """Tạo khóa nhật ký mới (đổi khóa) / Make a new audit key (rotation)."""
    key = keys.new_key()
    path = keys.key_file(current_app.config)
    if path is None:
        click.echo(key)
        click.echo("Thêm khóa này vào cuối PORTAL_AUDIT_KEYS (giữ các khóa cũ) rồi khởi động lại mọi tiến "
                   "trình / add this key at the end of PORTAL_AUDIT_KEYS (keep the old ones), then restart "
                   "every process", err=True)
        return
    keys.append_key(path, key)
    new_id = keys.key_id(key.encode())
    click.echo(f"Đã thêm khóa {new_id} vào {path}; khởi động lại mọi tiến trình / "
               f"key {new_id} added to {path}; restart every process to write with it")


@audit_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Ghi mốc kiểm tra của mục cuối / Write a checkpoint of the last entry (after migrating; a new file)."""
    from portal.extensions import db

    last = select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    head = db.session.execute(last).first()
    if head is None:
        click.echo("Nhật ký trống: không có gì để ghi / the audit log is empty: nothing to checkpoint")
        return
    current().write(head.id, head.hash)
    click.echo(f"Đã ghi mốc kiểm tra mục #{head.id} / checkpoint of entry #{head.id} in {current().path}")
