"""`flask search …`: rebuild the index, check it against the database, apply the outbox."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Chỉ mục tìm kiếm / Search index.")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Dựng lại toàn bộ chỉ mục, không gián đoạn / Rebuild the whole index with no downtime."""
    from portal.extensions import db
    from portal.search import get_search
    from portal.search.indexing import reindex

    started = time.monotonic()

    def progress(count: int) -> None:
        click.echo(f"\r  {count:,} tài liệu / documents  ({time.monotonic() - started:.1f} s)", nl=False)

    report = reindex(db.session, get_search, progress=progress)
    click.echo("")
    click.echo(f"Đã lập chỉ mục {report.count:,} kết quả trong {report.seconds:.1f} giây"
               f" (+{report.caught_up} thay đổi trong lúc dựng) / "
               f"indexed {report.count:,} results in {report.seconds:.1f} s"
               f" (+{report.caught_up} changed meanwhile).")


@search_cli.command("check")
@click.option("--show", default=10, help="How many ids of each kind to list.")
def check_command(show: int) -> None:
    """So sánh chỉ mục với CSDL; mã thoát 1 nếu lệch / Compare index and database; exit 1 on drift."""
    from portal.extensions import db
    from portal.search.indexing import check
    from portal.search.port import SearchUnavailable

    try:
        report = check(db.session)
    except SearchUnavailable as error:
        click.echo(f"Chỉ mục không dùng được / index unavailable: {error}", err=True)
        sys.exit(2)
    counts = report.as_dict()
    click.echo(f"chỉ mục/index: {counts['indexed']:,}  CSDL/database: {counts['in_database']:,}  "
               f"thiếu/missing: {counts['missing']}  thừa/extra: {counts['extra']}  "
               f"cũ/stale: {counts['stale']}")
    for label, ids in (("missing", report.missing), ("extra", report.extra), ("stale", report.stale)):
        if ids:
            click.echo(f"  {label}: {', '.join(ids[:show])}{' …' if len(ids) > show else ''}")
    if not report.ok:
        click.echo("Lệch: chạy `flask search reindex` / drift: run `flask search reindex`.", err=True)
        sys.exit(1)
    click.echo("Khớp / in step.")


@search_cli.command("drain")
def drain_command() -> None:
    """Áp dụng các thay đổi chờ cập nhật chỉ mục / Apply pending index updates (the outbox)."""
    from portal.extensions import db
    from portal.search.indexing import drain_outbox

    applied = drain_outbox(db.session)
    click.echo(f"Đã áp dụng {applied} thay đổi / applied {applied} updates.")
