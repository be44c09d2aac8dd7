"""`flask records import PATH` and `flask records report BATCH_ID`."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

records_cli = AppGroup("records", help="Kết quả số hóa / Digitized results.")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except Exception:  # no user name in some containers
        return "cli"


@records_cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--chunk-size",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Số dòng mỗi giao dịch / lines per transaction.",
)
def import_command(path: Path, chunk_size: int) -> None:
    """Nhập một lô (thư mục hoặc .zip) / Import a batch folder or .zip."""
    from portal.extensions import db
    from portal.imports.service import BatchError, render_report, run_import

    bar = None
    seen = 0

    def progress(state) -> None:
        nonlocal bar, seen
        if bar is None:
            bar = click.progressbar(
                length=max(state.total_lines, 1),
                label="Đang nhập / importing",
                show_pos=True,
                item_show_func=lambda text: text,
                file=sys.stderr,
            )
            bar.__enter__()
        counts = state.counts
        text = (
            f"tạo/created {counts['created']} · cập nhật/updated {counts['updated']} · "
            f"không đổi/unchanged {counts['unchanged']} · từ chối/refused {counts['refused']}"
        )
        bar.update(max(state.done_lines - seen, 0), current_item=text)
        seen = max(seen, state.done_lines)

    try:
        batch = run_import(db.session, path, _actor(), progress=progress, chunk_size=chunk_size)
    except BatchError as problem:
        db.session.rollback()
        raise click.ClickException(f"{problem.vi} / {problem.en}") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(render_report(db.session, batch), nl=False)
    _drain_search_outbox(db.session)


def _drain_search_outbox(session) -> None:
    from portal.search.indexing import catch_up

    problem = catch_up(session)
    if problem:
        click.echo(f"Chưa cập nhật được chỉ mục tìm kiếm / search index not updated yet ({problem}); "
                   "chạy / run `flask search drain`.", err=True)


@records_cli.command("report")
@click.argument("batch_id", type=int)
def report_command(batch_id: int) -> None:
    """In báo cáo của một lần nhập / Print the report kept with an import run."""
    from portal.extensions import db
    from portal.imports.models import ImportBatch
    from portal.imports.service import iter_report

    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise click.ClickException(f"Không có lần nhập số {batch_id} / no import run with id {batch_id}")
    for text in iter_report(db.session, batch):
        click.echo(text)
