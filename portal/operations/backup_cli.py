"""`flask backup create | verify | restore DIR` (portal/operations/backup.py; docs/operations.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

backup_cli = AppGroup("backup", help="Sao lưu và khôi phục / Backup and restore.")


def _passphrase(confirm: bool) -> str:
    from portal.operations.backup import passphrase_from_environment

    return passphrase_from_environment() or click.prompt(
        "Mật khẩu sao lưu / backup passphrase", hide_input=True, confirmation_prompt=confirm)


def _refuse(error) -> None:
    click.echo(f"Từ chối / refused: {error.vi} / {error.en}", err=True)
    sys.exit(1)


def _progress(step: str) -> None:
    click.echo(f"  … {step}")


def _describe(manifest: dict) -> str:
    counts = manifest["counts"]
    size = sum(item["size"] for item in manifest["files"].values())
    return (f"{counts['records']:,} kết quả/records, {counts['files']:,} tệp/files, "
            f"{counts['audit_entries']:,} mục nhật ký/audit entries, {counts['issued_copies']:,} bản sao/"
            f"issued copies; {manifest['database']['kind']}, revision {manifest['alembic_revision']}, "
            f"{size / 1e6:.1f} MB, {manifest['created_at']}")


def _run(work, directory: Path, confirm: bool, done_vi: str, done_en: str):
    """Run create or restore with the passphrase; refusals and warnings in both languages."""
    from portal.extensions import db
    from portal.operations.backup import BackupRefused

    try:
        summary = work(current_app.config, db.session, directory, _passphrase(confirm=confirm), _progress)
    except BackupRefused as error:
        _refuse(error)
    click.echo(f"{done_vi} ({summary.seconds:.1f} giây) / {done_en} ({summary.seconds:.1f} s): "
               f"{_describe(summary.manifest)}")
    for warning in summary.warnings:
        click.echo(f"  ! {warning}", err=True)
    return summary


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def create_command(directory: Path) -> None:
    """Sao lưu nhất quán khi cổng đang chạy / Write a consistent backup while the portal serves."""
    from portal.operations.backup import create

    summary = _run(create, directory, True, f"Đã sao lưu vào {directory}", f"backed up into {directory}")
    if summary.warnings:
        sys.exit(1)


@backup_cli.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify_command(directory: Path) -> None:
    """Kiểm tra mã băm của bản sao lưu / Check every file of a backup against its manifest."""
    from portal.operations.backup import BackupRefused, verify

    try:
        manifest = verify(directory)
    except BackupRefused as error:
        _refuse(error)
    click.echo(f"Bản sao lưu nguyên vẹn: {len(manifest['files']):,} tệp khớp / the backup holds: "
               f"{len(manifest['files']):,} files match. {_describe(manifest)}")


@backup_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(directory: Path) -> None:
    """Khôi phục vào CSDL và thư mục dữ liệu trống / Restore into an empty database and data directory."""
    from portal.operations.backup import restore

    _run(restore, directory, False, "Đã khôi phục, chỉ mục đã dựng lại", "restored, search index rebuilt")
    click.echo("Tiếp theo: `flask audit verify` và `flask search check` / next: `flask audit verify` and "
               "`flask search check`")
