"""Downloading a signed copy: by its requester (logged in) or through a link that expires.

Every download is written to the access log (the copy carries the result's scans).
"""

from __future__ import annotations

import io

from flask import Blueprint, current_app, redirect, render_template, request, send_file
from sqlalchemy import select

from portal.copy_requests import signing
from portal.copy_requests.models import IssuedCopy
from portal.errors import NotFound
from portal.extensions import db
from portal.files.store import FileStore
from portal.identity import current_actor, current_citizen
from portal.identity.citizens import login_url_here
from portal.records.access_log import record_access

bp = Blueprint("copies", __name__, url_prefix="/copies")


@bp.get("/<code>/download")
def download(code: str):
    issued = db.session.scalar(select(IssuedCopy).where(IssuedCopy.code == code)) if len(code) <= 40 else None
    if issued is None:
        raise NotFound()
    citizen = current_citizen()
    allowed = citizen is not None and citizen.id == issued.request.requester_id
    token = request.args.get("token", "")
    if not allowed and token:
        try:
            allowed = signing.check_download_token(token, code)
        except signing.LinkExpired:
            return render_template("verify/link_expired.html", issued=issued,
                                   minutes=current_app.config["COPY_LINK_MINUTES"]), 410
    if not allowed:
        if citizen is None and not token:
            return redirect(login_url_here())
        # Someone else's copy or a forged link: the same answer as an unknown code.
        raise NotFound()
    try:
        # Read whole: a copy is a few megabytes at most, and no file handle outlives the request.
        with FileStore.from_config(current_app.config).open(issued.sha256) as handle:
            data = handle.read()
    except FileNotFoundError:
        current_app.logger.error("issued copy %s: file %s missing from the store", issued.code, issued.sha256)
        raise NotFound() from None
    record_access(db.session, current_actor(), issued.request.record, "record.download", personal_data=True,
                  details={"copy": issued.code})
    db.session.commit()
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=f"ban-sao-{issued.request.reference}.pdf", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
