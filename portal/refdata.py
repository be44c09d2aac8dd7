"""Reference data every install needs: units (old and new) and national procedures."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import outbox
from portal.procedures.loader import CatalogueError, load_catalogue, sync_procedures
from portal.records import index_queue
from portal.records.models import Record
from portal.procedures.models import Procedure
from portal.units.loader import sync_units
from portal.units.models import AdminUnit


def sync_all(session: Session) -> str:
    provinces = tuple(int(c) for c in str(current_app.config["UNIT_PROVINCES"]).split(","))
    units = sync_units(session, provinces)
    created, updated = sync_procedures(session)
    return (f"Đơn vị hành chính / units: {units.created} mới / new, {units.updated} cập nhật / updated, "
            f"{units.links} liên kết kế thừa mới / new successor links; "
            f"thủ tục / procedures: {created} mới / new, {updated} cập nhật / updated.")


def ensure_loaded(session: Session) -> None:
    """Load reference data on first use, so a fresh install can import straight away."""
    has_units = session.scalar(select(func.count()).select_from(AdminUnit))
    has_procedures = session.scalar(select(func.count()).select_from(Procedure))
    if not has_units or not has_procedures:
        sync_all(session)
        session.commit()


@click.group("refdata", cls=AppGroup, invoke_without_command=True)
@click.pass_context
def refdata_command(context: click.Context) -> None:
    """Nạp đơn vị hành chính và thủ tục / Load administrative units and procedures."""
    if context.invoked_subcommand is not None:
        return
    from portal.extensions import db

    message = sync_all(db.session)
    db.session.commit()
    click.echo(message)


@refdata_command.command("procedures")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def procedures_command(path: Path) -> None:
    """Nạp danh mục thủ tục quốc gia (CSV hoặc .xlsx) / Load a national procedures catalogue export.

    Creates the procedures it lists, completes those first met in an import (uncatalogued) and
    updates the others; running it again changes nothing.
    """
    from portal.extensions import db

    try:
        report = load_catalogue(db.session, path)
    except CatalogueError as problem:
        db.session.rollback()
        raise click.ClickException(f"{problem.vi} / {problem.en}") from None
    if report.renamed:
        # A result's search document carries its procedure's name.
        index_queue.enqueue_upserts(db.session, db.session.scalars(
            select(Record.source_id).where(Record.procedure_code.in_(report.renamed))))
    outbox.commit(db.session)
    click.echo(f"Thủ tục / procedures: {report.created} mới / new, {report.completed} bổ sung từ chưa biên mục / "
               f"completed (were uncatalogued), {report.updated} cập nhật / updated, "
               f"{report.unchanged} không đổi / unchanged, {len(report.skipped)} bỏ qua / skipped.")
    for number, why in report.skipped:
        click.echo(f"  dòng / row {number}: bỏ qua / skipped ({why})", err=True)
