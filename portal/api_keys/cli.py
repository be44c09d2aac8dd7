"""``flask api-keys issue|revoke|list``: for the operator at the server's shell (audited as "cli")."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.api_keys import service
from portal.errors import InvalidInput, NotFound

api_keys_cli = AppGroup("api-keys", help="Khóa API của tổ chức / organizations' API keys.")


def _session():
    from portal.extensions import db

    return db.session


@api_keys_cli.command("issue")
@click.option("--org", "organization", required=True, help="Tên tổ chức / organization.")
@click.option("--contact", default="", help="Thư điện tử liên hệ / contact e-mail.")
@click.option("--scopes", default="", help=f"Comma-separated: {', '.join(service.SCOPES)}.")
@click.option("--quota", type=int, required=True, help="Số yêu cầu/ngày / requests per day.")
def issue_command(organization: str, contact: str, scopes: str, quota: int) -> None:
    """Issue a key and print it once (only its hash is kept)."""
    session = _session()
    try:
        issued = service.issue(session, "cli", organization=organization, contact_email=contact,
                               scopes=[s.strip() for s in scopes.split(",") if s.strip()], daily_quota=quota)
    except InvalidInput as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"id={issued.key.id} prefix={issued.key.prefix}")
    click.echo("Khóa chỉ hiện một lần / shown once, store it now:")
    click.echo(issued.secret)


@api_keys_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke_command(key_id: int) -> None:
    session = _session()
    try:
        service.revoke(session, "cli", service.get(session, key_id))
    except NotFound:
        session.rollback()
        raise click.ClickException(f"no key {key_id}") from None
    session.commit()
    click.echo(f"revoked {key_id}")
