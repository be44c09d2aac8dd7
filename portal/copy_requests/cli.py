"""`flask copies …`: the development certificate authority that signs copies in local runs and tests."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.config import allows_development_shortcuts
from portal.copy_requests import devca, keys
from portal.copy_requests.models import CopyRequest
from portal.extensions import db
from portal.identity.models import staff_unit
from portal.units.models import AdminUnit, UnitSystem
from portal.units.services import normalize_code


@click.group("copies")
def copies_cli() -> None:
    """Signed copies: keys and certificates."""


def _units_needing_keys(session) -> list[AdminUnit]:
    """Current units that issue copies: those with staff, and those that have received requests."""
    ids = set(session.scalars(select(staff_unit.c.unit_id)))
    ids |= set(session.scalars(select(CopyRequest.unit_id)))
    if not ids:
        return []
    return list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids),
                                                        AdminUnit.system == UnitSystem.CURRENT)
                                .order_by(AdminUnit.code)))


@copies_cli.command("dev-ca")
@click.option("--unit", "unit_codes", multiple=True, metavar="CODE",
              help="Statistics-office code of a current unit to give a key (repeatable).")
@click.option("--all-current", is_flag=True, help="A key for every current commune and ward.")
@with_appcontext
def dev_ca(unit_codes: tuple[str, ...], all_current: bool) -> None:
    """Create the DEVELOPMENT ONLY certificate authority and unit signing keys (idempotent).

    Without options: a key for each current unit that has staff or copy requests. Units without a
    key get one when their first copy is signed, as long as this authority exists.
    """
    config = current_app.config
    if not allows_development_shortcuts(config):
        raise click.ClickException(f"PORTAL_ENV={config['ENV']}: signing keys come from COPY_SIGNING_KEY / "
                                   "COPY_SIGNING_CERT or COPY_PKI_DIR/units/<code>/ (docs/copies.md), "
                                   "never from a development authority.")
    existed = devca.has_root(config)
    root = devca.ensure_root(config)
    click.echo(f"{'root (kept)' if existed else 'root (new)'}: {root}")
    session = db.session
    if all_current:
        units = list(session.scalars(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                             AdminUnit.level == "commune")
                                     .order_by(AdminUnit.code)))
    elif unit_codes:
        units = []
        for code in unit_codes:
            unit = session.scalar(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                          AdminUnit.code == normalize_code(code.strip())))
            if unit is None:
                raise click.ClickException(f"no current unit with code {code!r}")
            units.append(unit)
    else:
        units = _units_needing_keys(session)
    made = 0
    for unit in units:
        created = devca.ensure_unit(config, unit)
        made += created
        if created:
            click.echo(f"unit {unit.code} {unit.name}: {keys.unit_dir(config, unit)}")
    click.echo(f"{made} new unit key(s), {len(units) - made} kept; all marked {devca.DEV_MARK}")
