"""``flask coverage load-issued FILE``: load issued counts (docs/coverage.md) from the command line,
for any unit, with the same checks and budgets as the staff page: all or nothing."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.coverage import services
from portal.extensions import db

coverage_cli = AppGroup("coverage", help="Mức độ số hóa / Coverage of digitization.")


@coverage_cli.command("load-issued")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def load_issued_command(path: str) -> None:
    """Nạp số kết quả đã cấp từ tệp CSV / Load issued counts from a CSV file."""
    config = current_app.config
    limit = int(config["COVERAGE_ISSUED_MAX_BYTES"])
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    try:
        report = services.load_issued(
            db.session, None, data, max_bytes=limit, max_rows=int(config["COVERAGE_ISSUED_MAX_ROWS"])
        )
    except services.IssuedInvalid as error:
        db.session.rollback()
        for line in error.errors:
            click.echo(line, err=True)
        raise SystemExit("Không nạp dòng nào / nothing loaded.") from None
    db.session.commit()
    click.echo(
        f"Đã nạp / loaded: {report.rows} dòng / rows ({report.replaced} thay thế / replaced), "
        f"{report.units} đơn vị / units."
    )
