"""`/readyz` for load balancers: may this process take traffic? (`/healthz` only says it is alive.)"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from portal.extensions import db
from portal.operations import doctor
from portal.search import get_search

bp = Blueprint("operations", __name__)

#: What each component's failure means, for whoever reads the 503.
_MEANING = {
    "database": ("cơ sở dữ liệu không trả lời", "the database does not answer"),
    "search": ("chỉ mục tìm kiếm không dùng được", "the search index is unusable"),
}


@bp.get("/readyz")
def readyz():
    """200 when the database and the search index are usable, else 503 naming them; never a 500.

    Polled every few seconds: one statement and one bounded index probe, no session, no personal data.
    """
    seconds = float(current_app.config["READYZ_SEARCH_SECONDS"])
    checks = doctor.readiness(db.session, get_search(), seconds)
    failed = [name for name, state in checks.items() if state != "ok"]
    if failed:
        body = {"status": "not ready", "checks": checks, "failed": failed,
                "detail": {"vi": "; ".join(_MEANING[n][0] for n in failed),
                           "en": "; ".join(_MEANING[n][1] for n in failed)}}
        response = jsonify(body)
        response.status_code = 503
    else:
        response = jsonify({"status": "ready", "checks": checks})
    response.headers["Cache-Control"] = "no-store"
    return response

