"""Downloading a signed copy: by its requester (logged in) or through a link that expires.

Every download is written to the access log (the copy carries the result's scans).
"""

from __future__ import annotations

import io

from flask import Blueprint, current_app, redirect, render_template, request, send_file

from portal.copy_requests import signing, verification
from portal.errors import NotFound
from portal.extensions import db
from portal.identity import current_actor, current_citizen
from portal.identity.citizens import login_url_here

bp = Blueprint("copies", __name__, url_prefix="/copies")


@bp.get("/<code>/download")
def download(code: str):
    issued = verification.find_issued(db.session, code)
    if issued is None:
        raise NotFound()
    citizen = current_citizen()
    token = request.args.get("token", "")
    try:
        allowed = signing.may_download(issued, citizen, token)
    except signing.LinkExpired:
        return render_template("verify/link_expired.html", issued=issued,
                               minutes=current_app.config["COPY_LINK_MINUTES"]), 410
    if not allowed:
        if citizen is None and not token:
            return redirect(login_url_here())
        # Someone else's copy or a forged link: the same answer as an unknown code.
        raise NotFound()
    data = signing.read_for_download(db.session, current_actor(), issued)
    db.session.commit()
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=f"ban-sao-{issued.request.reference}.pdf", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
