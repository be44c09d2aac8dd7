"""GET /metrics: Prometheus text, for the monitoring only (portal/operations/metrics.py).

Answered only to an address of METRICS_ALLOW or with the bearer token PORTAL_METRICS_TOKEN; anyone
else gets the portal's ordinary 404, so the address tells an outsider nothing. nginx does not pass
/metrics on either (deploy/).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from portal.extensions import db
from portal.operations import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def export() -> Response:
    if not metrics.may_scrape(request, current_app):
        abort(404)
    body = metrics.exposition(db.session, current_app._get_current_object())
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
