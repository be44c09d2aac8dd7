"""The requester rates a handled copy request: GET/POST /copy-requests/<reference>/rating.

The request page invites the rating (`rating_status`, a template global) and the issued and
refused e-mails link here. Scales, criteria and their labels come from the scales file, in the
language of the page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.copy_requests import services as copy_services
from portal.db import utcnow
from portal.extensions import db
from portal.feedback import ratings
from portal.feedback.rating_forms import rating_form
from portal.identity import current_citizen
from portal.identity.citizens import require_loa
from portal.rate_limits import limit_posts

bp = Blueprint("ratings", __name__)


@bp.record_once
def _check_scales(state) -> None:
    # A broken scales file fails at boot, not on the first citizen's rating.
    ratings.scales_from_config(state.app.config)


def _lang() -> str:
    return "en" if str(get_locale() or "vi").startswith("en") else "vi"


def _change_days() -> int:
    return int(current_app.config["FEEDBACK_RATING_CHANGE_DAYS"])


def _page(copy_request, form, rating, closed: str | None = None, status: int = 200):
    summary = ratings.summarize(rating, _lang(), utcnow(), _change_days()) if rating is not None else None
    response = make_response(render_template(
        "feedback/rate.html", req=copy_request, form=form, rating=rating, summary=summary, closed=closed,
        max_comment=ratings.MAX_COMMENT), status)
    response.headers["Cache-Control"] = "private, no-store"  # about a person's own request
    return response


@bp.route("/copy-requests/<reference>/rating", methods=["GET", "POST"])
@limit_posts("FEEDBACK_RATING_RATE_LIMIT")
@require_loa("view_personal")
def rate(reference: str):
    citizen = current_citizen()
    copy_request = copy_services.get_own(db.session, citizen, reference)  # NotFound: not theirs
    rating = ratings.find_rating(db.session, copy_request)
    scales = ratings.current_scales()
    posted = scales.scales.get(request.form.get("scale", "")) if request.method == "POST" else None
    scale = posted or (scales.scales.get(rating.scale_id) if rating else None) or scales.default
    if not ratings.is_handled(copy_request):
        return _page(copy_request, None, rating, "not_handled", 409)
    if not ratings.may_rate(copy_request, citizen, utcnow(), rating=rating, change_days=_change_days()):
        return _page(copy_request, None, rating, "too_late", 409 if request.method == "POST" else 200)
    if request.method == "GET":
        return _page(copy_request, rating_form(scales, scale, _lang(), rating), rating)

    form = rating_form(scales, scale, _lang())
    if not form.validate():
        return _page(copy_request, form, rating, status=400)
    try:
        rating = ratings.rate(db.session, citizen, reference, form.scale.data, form.scores(),
                              form.comment.data or "", change_days=_change_days(), scales=scales)
    except ratings.RatingClosed as closed:  # the window closed between the check and now
        db.session.rollback()
        return _page(copy_request, None, ratings.find_rating(db.session, copy_request), closed.reason, 409)
    except ratings.InvalidRating as invalid:
        db.session.rollback()
        form.add_errors(invalid.errors)
        return _page(copy_request, form, ratings.find_rating(db.session, copy_request), status=400)
    changed = rating.updated_at != rating.created_at
    db.session.commit()
    flash(_("Thank you: your rating has been changed.") if changed
          else _("Thank you for rating how request %(ref)s was handled.", ref=reference))
    return redirect(url_for("copy_requests.detail", reference=reference), 303)


bp.add_app_template_global(ratings.is_handled, "rating_open_for")


@bp.app_template_global()
def rating_status(copy_request) -> dict | None:
    """For the request page: None before the request is handled, else the rating's summary (or
    None when not rated yet) and whether it may still be given or changed."""
    if not ratings.is_handled(copy_request):
        return None
    rating = ratings.find_rating(db.session, copy_request)
    if rating is None:
        return {"summary": None, "open": True}
    summary = ratings.summarize(rating, _lang(), utcnow(), _change_days())
    return {"summary": summary, "open": summary.changeable}
