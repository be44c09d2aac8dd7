"""API: status of a copy request or a petition by its reference and tracking code.

The same lookups as the web tracking forms (/copy-requests/track, /feedback/petitions/track), with
the same limits, counted in the same buckets: the per-address cap of the form (COPY_TRACK_RATE_LIMIT,
FEEDBACK_TRACK_RATE_LIMIT) and, for copy requests, the failed tries per address and reference
(COPY_TRACK_MAX_FAILURES in COPY_TRACK_WINDOW_MINUTES, kept on the audit chain by services.track).
So a guesser gains nothing by switching between the page and the API.

POST with a JSON body, so that the code never sits in a URL, a proxy's log or a browser history.
An unknown reference and a wrong code get one answer, 404.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from portal import clock, tracking
from portal.api_keys.access import api_access
from portal.copy_requests import services as copy_requests
from portal.copy_requests.forms import EVENT_LABELS as COPY_EVENT_LABELS
from portal.copy_requests.forms import STATE_LABELS as COPY_STATE_LABELS
from portal.extensions import csrf, db
from portal.feedback import petition_processing, petitions
from portal.feedback.petition_forms import EVENT_LABELS as PETITION_EVENT_LABELS
from portal.feedback.petition_forms import STATE_LABELS as PETITION_STATE_LABELS
from portal.feedback.tracking_api_schemas import CopyRequestStatus, PetitionStatus, TrackBody
from portal.i18n import in_both_languages
from portal.openapi import problem, responses, spec
from portal.rate_limits import limit_posts_as

bp = Blueprint("tracking_api", __name__, url_prefix="/api/v1")

#: One person's case: never kept by a browser or a proxy.
NO_STORE = "no-store"


def _documented(answer, what_vi: str, what_en: str):
    documented = responses(answer, "HTTP_400", "HTTP_401", "HTTP_404", ok_description=(
        f"Tình trạng {what_vi} / the status of the {what_en}"))
    documented.code_descriptions["HTTP_404"] = (
        "Số tham chiếu không có hoặc mã tra cứu sai (một câu trả lời cho cả hai) / unknown reference or "
        "wrong tracking code (one answer for both)")
    documented.code_descriptions["HTTP_429"] = (
        "Quá nhiều lần thử từ địa chỉ này (Retry-After) / too many tries from this address (Retry-After)")
    return documented


def _attempt() -> tuple[str, str] | None:
    """The reference and code of the JSON body; None when the body is not that."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    reference, code = body.get("reference"), body.get("code")
    if not isinstance(reference, str) or not isinstance(code, str):
        return None
    if len(reference) > tracking.MAX_TYPED or len(code) > tracking.MAX_TYPED:
        return None  # as the web forms' Length(max=40): no real reference or code is near it
    return reference, code


def _bad_body():
    return problem(400, "Gửi JSON {\"reference\": \"…\", \"code\": \"…\"}, mỗi trường tối đa "
                        f"{tracking.MAX_TYPED} ký tự.",
                   f"Send JSON {{\"reference\": \"…\", \"code\": \"…\"}}, each at most {tracking.MAX_TYPED} "
                   "characters.")


def _no_match():
    # One answer for an unknown reference and a wrong code: nothing tells which references exist.
    return problem(404, "Không tìm thấy hồ sơ với số tham chiếu và mã tra cứu này.",
                   "There is no case with this reference and tracking code.")


def _time(moment) -> str | None:
    return clock.in_hanoi(moment).isoformat(timespec="seconds") if moment is not None else None


def _answer(body: dict):
    response = jsonify(body)
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.post("/copy-requests/status")
@csrf.exempt  # no cookie session to protect: the reference and code are the credential
@spec.validate(json=TrackBody, resp=_documented(CopyRequestStatus, "yêu cầu cấp bản sao", "copy request"),
               tags=["tracking"], skip_validation=True, operation_id="copyRequestStatus")
@api_access()
@limit_posts_as("copy_requests.track", "COPY_TRACK_RATE_LIMIT")
def copy_request_status():
    """Tình trạng yêu cầu cấp bản sao / Status of a copy request

    Theo số tham chiếu và mã tra cứu, như trang theo dõi; số tham chiếu không có và mã sai cùng trả 404;
    giới hạn số lần thử chung với trang web / by reference and tracking code, as the tracking page;
    an unknown reference and a wrong code both answer 404; tries are limited together with the page.
    """
    attempt = _attempt()
    if attempt is None:
        return _bad_body()
    config = current_app.config
    try:
        found = copy_requests.track(
            db.session, *attempt, tracking.client_tag(request.remote_addr or "", current_app.secret_key),
            max_failures=config["COPY_TRACK_MAX_FAILURES"],
            window_minutes=config["COPY_TRACK_WINDOW_MINUTES"])
    except copy_requests.TooManyAttempts:
        refused = problem(429, "Quá nhiều lần thử sai với số tham chiếu này; vui lòng thử lại sau.",
                          "Too many wrong tries for this reference; try again later.")
        refused.headers["Retry-After"] = str(config["COPY_TRACK_WINDOW_MINUTES"] * 60)
        return refused
    except tracking.TrackingFailed:
        db.session.commit()  # the failed try, counted for the limit (the web form's count too)
        return _no_match()
    status = copy_requests.tracked_status(found)
    return _answer({
        "reference": status.reference, "state": status.state,
        "state_label": in_both_languages(COPY_STATE_LABELS.get(status.state, status.state)),
        "kind": status.kind, "document_type": status.document_type, "unit": status.unit,
        "received_at": _time(status.received_at), "updated_at": _time(status.updated_at),
        "due_at": _time(status.due_at), "overdue": status.overdue, "copy_ready": status.copy_ready,
        "postal_tracking_number": status.postal_tracking_number,
        "steps": [{"at": _time(step.at), "action": step.action,
                   "label": in_both_languages(COPY_EVENT_LABELS.get(step.action, step.action)),
                   "state": step.state, "by": step.by, "note": step.note} for step in status.steps],
    })


@bp.post("/petitions/status")
@csrf.exempt  # no cookie session to protect: the reference and code are the credential
@spec.validate(json=TrackBody, resp=_documented(PetitionStatus, "phản ánh, kiến nghị", "petition"),
               tags=["tracking"], skip_validation=True, operation_id="petitionStatus")
@api_access()
@limit_posts_as("petitions.track", "FEEDBACK_TRACK_RATE_LIMIT")
def petition_status():
    """Tình trạng phản ánh, kiến nghị / Status of a petition

    Tiến độ như trang theo dõi phản ánh cho người giữ mã (không có họ tên, liên hệ người gửi); 404 như
    trên; số lần thử mỗi địa chỉ tính chung với biểu mẫu / the progress the petition tracking page
    shows the code's holder (not the sender's name or contacts); 404 as above; tries per address are
    counted with the form's.
    """
    attempt = _attempt()
    if attempt is None:
        return _bad_body()
    try:
        petition = petitions.track(db.session, *attempt)
    except tracking.TrackingFailed:
        return _no_match()
    status = petitions.tracked_status(petition)
    return _answer({
        "reference": status.reference, "state": status.state,
        "state_label": in_both_languages(PETITION_STATE_LABELS.get(status.state, status.state)),
        "unit": status.unit, "received_at": _time(status.received_at), "updated_at": _time(status.updated_at),
        "due_at": _time(status.due_at), "overdue": status.overdue, "answered_at": _time(status.answered_at),
        "answered_late": status.answered_late, "published": status.published,
        "decline_reason": petition_processing.decline_reason(petition),
        "steps": [{"at": _time(step.at), "action": step.action,
                   "label": in_both_languages(PETITION_EVENT_LABELS.get(step.action, step.action)),
                   "to_unit": step.to_unit} for step in status.steps],
    })
