"""``flask scorecard refresh``: count the public scorecard's figures now (the worker does it every
SCORECARD_REFRESH_MINUTES; after an import, or to see new figures at once, run it by hand)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.db import utcnow
from portal.extensions import db
from portal.scorecard import snapshots

scorecard_cli = AppGroup("scorecard", help="Bảng chỉ số chất lượng phục vụ / Public scorecard.")


@scorecard_cli.command("refresh")
def refresh_command() -> None:
    """Tính lại số liệu ngay / Count every scorecard's figures again now."""
    report = snapshots.refresh(db.session, utcnow())
    db.session.commit()
    click.echo(f"Đã tính lại / counted: {report.scorecards} bảng số liệu / scorecards ({report.scopes} "
               f"phạm vi / scopes × {report.periods} kỳ / periods) in {report.seconds:.1f} s.")
