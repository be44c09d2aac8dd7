"""`flask ocr …`: read what is waiting now, and count the queue."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

ocr_cli = AppGroup("ocr", help="Đọc chữ trên bản quét / Text from scans (OCR).")


@ocr_cli.command("run")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Read at most N files.")
@click.option("--retry-failed", is_flag=True, help="Put failed files back in the queue first.")
def run_command(limit: int | None, retry_failed: bool) -> None:
    """Đọc các tệp đang chờ rồi thoát / Read the files waiting now, then exit."""
    from portal.extensions import db
    from portal.files.store import FileStore
    from portal.ocr import services

    if retry_failed:
        click.echo(f"{services.retry_failed(db.session)} tệp thử lại / files back in the queue")
        db.session.commit()
    report = services.run_pending(db.session, FileStore.from_config(current_app.config),
                                  services.Settings.from_config(current_app.config), limit=limit)
    rate = report.pages / report.seconds if report.seconds else 0.0
    click.echo(f"Đã đọc {report.done} tệp ({report.pages} trang), lỗi {report.failed}, {report.seconds:.1f} giây"
               f" / read {report.done} files ({report.pages} pages, {rate:.2f} pages/s), {report.failed} failed")
    if report.stopped:
        click.echo(f"Dừng / stopped: {report.stopped}", err=True)
        sys.exit(1)


@ocr_cli.command("status")
def status_command() -> None:
    """Đếm tệp chờ, đang đọc, xong, lỗi / Count pending, running, done and failed files."""
    from portal.extensions import db
    from portal.ocr import services

    counts = services.counts(db.session, current_app.config["OCR_STALL_SECONDS"])
    for status, label in (("pending", "chờ"), ("running", "đang đọc"), ("done", "xong"), ("failed", "lỗi")):
        click.echo(f"{status:8} {counts[status]:>10,}  ({label})")
