"""Reference data every install needs: units (old and new) and national procedures."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.procedures.loader import sync_procedures
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


@click.command("refdata")
@with_appcontext
def refdata_command() -> None:
    """Nạp đơn vị hành chính và thủ tục / Load administrative units and procedures."""
    from portal.extensions import db

    message = sync_all(db.session)
    db.session.commit()
    click.echo(message)
