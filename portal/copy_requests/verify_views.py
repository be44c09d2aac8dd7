"""Public verification of copies (no login): GET /verify, GET /verify/<code>, POST /verify (upload).

A page for people, JSON for `Accept: application/json`. POST /verify is exempt from CSRF: it is a
query that changes nothing for the visitor (it only appends to the holder's access log), and other
tools (a bank's, a notary's) upload copies to it without a form of ours.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.copy_requests import verification
from portal.copy_requests.forms import CodeForm, UploadForm
from portal.copy_requests.signing import KIND_TITLES
from portal.db import commit_read
from portal.errors import InvalidInput
from portal.extensions import csrf, db
from portal.identity import current_actor

bp = Blueprint("verify", __name__, url_prefix="/verify")

#: A verification is about this minute: never cached, never kept by a proxy.
NO_STORE = "no-store"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _answer(result: verification.Verification):
    commit_read(db.session)  # the access-log entry of the check
    if _wants_json():
        response = jsonify(result.as_json())
    else:
        response = current_app.make_response(render_template("verify/result.html", result=result,
                                                                            kind_titles=KIND_TITLES))
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("")
def form():
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for(".by_code", code=code))
    return render_template("verify/form.html", code_form=CodeForm(), upload_form=UploadForm())


@bp.get("/<code>")
def by_code(code: str):
    result = verification.verify_code(db.session, code.strip(), current_actor(), current_app.config)
    return _answer(result)


@bp.post("")
@csrf.exempt
def upload():
    upload_form = UploadForm()
    storage = upload_form.file.data if upload_form.file.data else None
    data = b""
    if storage is not None:
        if storage.mimetype not in ("application/pdf", "application/x-pdf", "application/octet-stream", ""):
            return _refuse(upload_form, _("This file is not a PDF. Upload the PDF copy you received "
                                          "(ending in .pdf)."))
        limit = int(current_app.config["COPY_VERIFY_MAX_BYTES"])
        data = storage.read(limit + 1)
    try:
        result = verification.verify_upload(db.session, data, current_actor(), current_app.config)
    except InvalidInput as error:
        return _refuse(upload_form, str(error))
    return _answer(result)


def _refuse(upload_form: UploadForm, message: str):
    if _wants_json():
        return jsonify({"error": 400, "message": message}), 400
    upload_form.file.errors = [message]
    return render_template("verify/form.html", code_form=CodeForm(), upload_form=upload_form,
                           error=message), 400
