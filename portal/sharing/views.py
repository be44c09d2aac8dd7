"""Share links: the holder's form and list (logged in, the level of assurance of personal results),
and the recipient's page /s/<token> with its scans (no login: the unguessable token is the credential).

The recipient's pages are never indexed nor kept: ``X-Robots-Tag: noindex, nofollow``,
``Referrer-Policy: no-referrer`` (the token must not leave in a Referer header), ``Cache-Control:
no-store``; they are not on portal.http_cache's PUBLIC_PAGES, so the page cache never keeps them.
Unknown tokens count against SHARE_UNKNOWN_RATE_LIMIT per address (guessing costs time).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from portal import clock
from portal.db import commit_read
from portal.errors import Forbidden, NotFound
from portal.extensions import db
from portal.identity import current_citizen
from portal.identity.citizens import reading_actor, require_loa
from portal.records import previews
from portal.records.access import is_subject
from portal.sharing import links, services
from portal.sharing.forms import FIELD_LABELS, RevokeForm, ShareForm
from portal.sharing.guards import LINK_HEADERS, unknown_token_limit
from portal.tracking import show_once, take_shown_once
from portal.units.services import successors

bp = Blueprint("share", __name__)

#: The holder's pages: their browser only.
PRIVATE_CACHE = "private, no-store"


def _private(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 and int(raw) >= 1 else 1


def _max_days() -> int:
    return int(current_app.config["SHARE_MAX_DAYS"])


def _form_page(form: ShareForm, record, status: int = 200):
    return _private(render_template("sharing/new.html", form=form, record=record), status)


def _refused(refusal: Forbidden):
    return _private(render_template("sharing/refused.html", reason=str(refusal)), 403)


@bp.get("/my/results/<source_id>/share")
@require_loa("view_personal")
def new(source_id: str):
    try:
        record = services.get_shareable(db.session, current_citizen(), source_id)
    except Forbidden as refusal:
        return _refused(refusal)
    return _form_page(ShareForm().offer(services.expiry_choices(_max_days())), record)


@bp.post("/my/results/<source_id>/share")
@require_loa("view_personal")
def create(source_id: str):
    citizen = current_citizen()
    form = ShareForm().offer(services.expiry_choices(_max_days()))
    try:
        record = services.get_shareable(db.session, citizen, source_id)
        if not form.validate_on_submit():
            return _form_page(form, record, 400)
        created = services.create(db.session, citizen, source_id, recipient=form.recipient.data,
                                  fields=form.chosen_fields(), one_time=form.one_time.data,
                                  lifetime=services.EXPIRY_CHOICES[form.expiry.data], max_days=_max_days())
    except Forbidden as refusal:
        return _refused(refusal)
    link_id = created.link.id
    db.session.commit()
    show_once(f"share:{link_id}", created.token)
    return redirect(url_for(".mine", created=link_id), 303)


@bp.get("/my/shares")
@require_loa("view_personal")
def mine():
    citizen = current_citizen()
    shares = services.list_links(db.session, citizen, page=_page_arg())
    created, token = None, None
    raw = request.args.get("created", "")
    if raw.isdecimal() and len(raw) < 10:
        token = take_shown_once(f"share:{raw}")
        created = next((link for link in shares.links if link.id == int(raw)), None)
        if created is None and token is not None:
            created = services.get_own(db.session, citizen, int(raw))
    now = clock.now()
    secret = current_app.config["SECRET_KEY"]
    return _private(render_template(
        "sharing/mine.html", shares=shares, form=RevokeForm(), now=now, created=created,
        created_url=links.share_url(token, current_app.config) if token and created else None,
        states={link.id: services.state(link, now) for link in shares.links},
        codes={link.id: services.verification_code(link, secret) for link in shares.links},
        created_code=services.verification_code(created, secret) if created else None,
        field_labels=FIELD_LABELS))


@bp.post("/my/shares/<int(max=2147483647):link_id>/revoke")
@require_loa("view_personal")
def revoke(link_id: int):  # CSRFProtect has checked the form's token before this runs
    link = services.revoke(db.session, current_citizen(), link_id)
    recipient = link.recipient
    db.session.commit()
    flash(_("The share link for %(recipient)s has been revoked: it no longer opens.",
            recipient=recipient))
    return redirect(url_for(".mine"), 303)


def _link_response(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers.update(LINK_HEADERS)
    return response


def _by_holder(link) -> bool:
    """The logged-in holder looking at their own link: a preview, not an opening."""
    return is_subject(reading_actor(), link.record)


@bp.get("/s/<token>")
@unknown_token_limit()
def open_page(token: str):
    try:
        link, preview = services.open_link(db.session, token, by_holder=_by_holder)
    except NotFound:
        db.session.rollback()
        return _link_response(render_template("sharing/link_unknown.html"), 404)
    except services.Gone as gone:
        db.session.rollback()
        return _link_response(render_template("sharing/link_gone.html", state=gone.state.value), 410)
    commit_read(db.session)  # the opening: counted, spent if one-time, in the holder's access log
    record = link.record
    now = clock.now()
    ticket = links.scan_ticket(link.id, current_app.config)
    return _link_response(render_template(
        "sharing/shared.html", link=link, record=record, now=now, status=record.effective_status(now.date()),
        successors=successors(record.issuing_unit), shows=set(link.fields), scans=services.scan_pages(link),
        ticket=ticket, token=token, preview=preview,
        code=services.verification_code(link, current_app.config["SECRET_KEY"])))


@bp.get("/s/<token>/files/<int(max=99):position>/pages/<int(max=9999):page>.png")
@unknown_token_limit()
def scan(token: str, position: int, page: int):
    """A scanned page of the link's own result, with the ticket its page's opening signed."""
    link = services.find(db.session, token)
    if link is None:
        return _link_response(render_template("sharing/link_unknown.html"), 404)
    if services.state(link) not in (services.State.ACTIVE, services.State.USED) \
            or not links.ticket_is_for(request.args.get("t", ""), link.id, current_app.config):
        return _link_response(render_template("sharing/link_gone.html", state="gone"), 410)
    try:
        document = services.scan_document(db.session, link, position, page, by_holder=_by_holder(link))
    except NotFound:
        db.session.rollback()
        abort(404)
    commit_read(db.session)  # the access-log entry of the scan
    path, _width = previews.served_preview(current_app.config, document.sha256, document.media_type, page,
                                           request.args.get("w", type=int))
    # Read whole (a preview is tens of KB): no file handle stays open if the reader goes away mid-way.
    response = make_response(path.read_bytes())
    response.mimetype = "image/png"
    response.headers.update(LINK_HEADERS)
    return response
