"""Following results: the follow form of a result, the list of what one follows, and the unfollow
page that every reminder links to (no login: the signed link is the credential).

The unfollow page's GET only asks; the POST stops the follow. That POST is the one-click
unsubscribe of RFC 8058 too: a mail client posts ``List-Unsubscribe=One-Click`` to the link
without any cookie or form token, so it is exempt from CSRF; the signed token in its address,
made for that follow alone, is what an attacker cannot forge.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import clock
from portal.errors import Forbidden
from portal.extensions import csrf, db
from portal.follows import services
from portal.follows.forms import FollowForm, UnfollowForm
from portal.follows.tasks import reminder_days
from portal.identity import current_citizen
from portal.identity.citizens import require_loa

bp = Blueprint("follows", __name__)

#: Pages naming a person's results and address: their browser only.
PRIVATE_CACHE = "private, no-store"
#: Longer than any token the portal signs: anything longer is not one of its links.
MAX_TOKEN = 200


def _private(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 and int(raw) >= 1 else 1


def _form_page(form: FollowForm, record, following) -> str:
    days = ", ".join(str(d) for d in reminder_days(current_app.config))
    return render_template("follows/new.html", form=form, record=record, following=following,
                           reminder_days=days)


def _refused(refusal: Forbidden):
    return _private(render_template("follows/refused.html", reason=str(refusal)), 403)


@bp.get("/results/<source_id>/follow")
@require_loa("view_personal")
def new(source_id: str):
    citizen = current_citizen()
    try:
        record = services.get_followable(db.session, citizen, source_id)
    except Forbidden as refusal:
        return _refused(refusal)
    following = services.find_follow(db.session, citizen, record)
    form = FollowForm(email=following.email if following else None)
    return _private(_form_page(form, record, following))


@bp.post("/results/<source_id>/follow")
@require_loa("view_personal")
def create(source_id: str):
    citizen = current_citizen()
    form = FollowForm()
    try:
        if not form.validate_on_submit():
            record = services.get_followable(db.session, citizen, source_id)
            return _private(_form_page(form, record, services.find_follow(db.session, citizen, record)), 400)
        follow = services.follow(db.session, citizen, source_id, form.email.data)
    except Forbidden as refusal:
        return _refused(refusal)
    record = follow.record
    db.session.commit()
    flash(_("You follow %(document)s. Reminders will be sent to %(email)s.",
            document=record.doc_type_name, email=follow.email))
    return redirect(url_for(".mine"), 303)


@bp.get("/my/follows")
@require_loa("view_personal")
def mine():
    follows = services.list_follows(db.session, current_citizen(), page=_page_arg())
    return _private(render_template("follows/mine.html", follows=follows, form=UnfollowForm(),
                                    today=clock.today()))


@bp.post("/my/follows/<int(max=2147483647):follow_id>/unfollow")
@require_loa("view_personal")
def unfollow_own(follow_id: int):  # CSRFProtect has checked the form's token before this runs
    stopped = services.unfollow_own(db.session, current_citizen(), follow_id)
    document = stopped.record.doc_type_name
    db.session.commit()
    flash(_("You no longer follow %(document)s.", document=document))
    return redirect(url_for(".mine"), 303)


@bp.get("/follows/unfollow/<token>")
def unfollow_link(token: str):
    """Asks before stopping: a GET (a mail scanner following links) changes nothing."""
    if len(token) > MAX_TOKEN or not services.is_genuine_link(token, current_app.config):
        return _private(render_template("follows/link_invalid.html"), 404)
    follow = services.find_by_link(db.session, token, current_app.config)
    return _private(render_template("follows/unfollow.html", follow=follow, token=token, form=UnfollowForm()))


@bp.post("/follows/unfollow/<token>")
@csrf.exempt
def unfollow_by_link(token: str):
    if len(token) > MAX_TOKEN or not services.is_genuine_link(token, current_app.config):
        return _private(render_template("follows/link_invalid.html"), 404)
    follow = services.find_by_link(db.session, token, current_app.config)
    document = follow.record.doc_type_name if follow else None
    services.unfollow_by_link(db.session, token, current_app.config)
    db.session.commit()
    return _private(render_template("follows/unfollowed.html", document=document))
