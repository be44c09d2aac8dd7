"""Staff batch uploads at /staff/imports: digitization operators (for the units they serve) and
administrators (for any unit).

- the upload page: a .zip sent with tus (resumable, static/js/batch-upload.js with the vendored
  tus-js-client), or, without JavaScript, a plain form for a small batch;
- the tus endpoints (portal/imports/uploads.py says what the protocol asks of them); every one
  checks the staff member owns the upload and, for the writing ones, the CSRF token the script
  sends in X-CSRFToken (Flask-WTF's CSRFProtect, as for every form);
- the imports of the staff member's units, each with its live progress (a small JSON the page
  polls) and its report (filters, pages, CSV).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard
from portal.imports import background, uploads
from portal.imports import tasks as import_tasks
from portal.imports.uploads import UploadRefused

bp = Blueprint("imports_staff", __name__, url_prefix="/staff/imports")
bp.before_request(staff_guard(StaffRole.OPERATOR, StaffRole.ADMIN))

TUS_VERSION = "1.0.0"
#: PATCH chunks the script sends: well below MAX_CONTENT_LENGTH and nginx's client_max_body_size.
CHUNK_BYTES = 8 * 1024 * 1024
PER_PAGE = 25
REPORT_PER_PAGE = 50
KIND_LABELS = {"refused": _l("Refused lines"), "warnings": _l("Warnings"), "all": _l("All entries")}
STATUS_LABELS = {"queued": _l("Waiting for the worker"), "running": _l("Importing"),
                 "completed": _l("Completed"), "failed": _l("Refused as a whole")}


@bp.after_request
def no_store(response):
    # Reports name results and people; an upload's offset must never come from a cache.
    response.headers["Cache-Control"] = "no-store"
    if request.endpoint and request.endpoint.startswith("imports_staff.tus"):
        response.headers["Tus-Resumable"] = TUS_VERSION
    return response


@bp.app_context_processor
def labels():
    return {"import_status_label": lambda status: str(STATUS_LABELS.get(status, status))}


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdecimal() and len(raw) < 10 else default


# --- pages -------------------------------------------------------------------------------------


@bp.get("/")
def index():
    staff = current_staff()
    unit_id = _int_arg("unit")
    page = _int_arg("page", 1) or 1
    jobs_, total = background.list_jobs(db.session, staff, unit_id=unit_id, page=page, per_page=PER_PAGE)
    return render_template("staff/imports/index.html", jobs=jobs_, total=total, page=page, per_page=PER_PAGE,
                           units=uploads.units_for(db.session, staff), unit_id=unit_id)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """The upload page; its POST is the no-JavaScript fallback: one multipart form, small batches."""
    staff = current_staff()
    units = uploads.units_for(db.session, staff)
    problem = None
    if request.method == "POST":
        sent = request.files.get("batch")
        try:
            if sent is None or not sent.filename:
                raise UploadRefused(400, "Hãy chọn tệp .zip của lô", "choose the batch's .zip")
            size = sent.stream.seek(0, 2)
            sent.stream.seek(0)
            if size > int(current_app.config["UPLOAD_BATCH_FORM_MAX_BYTES"]):
                raise UploadRefused(413, "Lô lớn: hãy bật JavaScript để tải lên có thể tiếp tục khi mất "
                                    "kết nối", "a large batch: turn JavaScript on to upload it resumably")
            upload = uploads.create(db.session, staff, current_app.config, length=size,
                                    filename=sent.filename, unit_id=_form_unit())
            uploads.append(current_app.config, upload, 0, iter(lambda: sent.stream.read(uploads.BLOCK), b""))
            job = _finish(upload)
        except UploadRefused as refused:
            db.session.rollback()
            problem = refused
        else:
            return redirect(url_for(".detail", job_id=job.id), 303)
    language = str(get_locale() or "vi")
    return render_template("staff/imports/new.html", units=units, chunk_bytes=CHUNK_BYTES,
                           max_bytes=int(current_app.config["UPLOAD_BATCH_MAX_BYTES"]),
                           form_max_bytes=int(current_app.config["UPLOAD_BATCH_FORM_MAX_BYTES"]),
                           problem=(problem.vi if language == "vi" else problem.en) if problem else None), \
        problem.status if problem else 200


def _form_unit() -> int | None:
    raw = request.form.get("unit", "")
    return int(raw) if raw.isdecimal() and len(raw) < 10 else None


def _finish(upload) -> background.ImportJob:
    """The upload is complete: queue its import (after the commit, so the worker sees the job)."""
    path = uploads.complete(db.session, current_app.config, upload)
    job = background.start(db.session, upload, path)
    db.session.commit()
    import_tasks.enqueue(job.id)
    return job


@bp.get("/<int:job_id>")
def detail(job_id: int):
    staff = current_staff()
    job = background.get_job(db.session, staff, job_id)
    kind = request.args.get("kind", "refused")
    kind = kind if kind in background.KINDS else "refused"
    field = request.args.get("field", "")[:60]
    page = _int_arg("page", 1) or 1
    entries, more, fields = [], False, []
    if job.batch_id is not None:
        entries, more = background.report_page(db.session, job.batch_id, kind=kind, field=field, page=page,
                                               per_page=REPORT_PER_PAGE)
        fields = background.report_fields(db.session, job.batch_id) if job.status == "completed" else []
    return render_template("staff/imports/detail.html", job=job, state=background.snapshot(job),
                           entries=entries, more=more, page=page, kind=kind, field=field, fields=fields,
                           kinds=KIND_LABELS, vietnamese=str(get_locale() or "vi") == "vi")


@bp.get("/<int:job_id>/progress")
def progress(job_id: int):
    job = background.get_job(db.session, current_staff(), job_id)
    return jsonify(background.snapshot(job).as_json())


@bp.get("/<int:job_id>/report.csv")
def report_csv(job_id: int):
    job = background.get_job(db.session, current_staff(), job_id)
    if job.batch_id is None:
        raise InvalidInput("no report yet")
    kind = request.args.get("kind", "all")
    kind = kind if kind in background.KINDS else "all"
    field = request.args.get("field", "")[:60]
    rows = background.report_csv(db.session, job.batch_id, kind=kind, field=field)
    # Streamed: a report of a million lines never sits in memory; the session needs the request's context.
    return Response(stream_with_context(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{job.id}-{kind}.csv"'})


@bp.get("/csrf-token")
def csrf_token():
    """A fresh CSRF token for the upload script: a big upload outlasts one (WTF_CSRF_TIME_LIMIT,
    an hour), and its later chunks would be refused."""
    return jsonify({"token": generate_csrf()})


@bp.get("/uploads/<upload_id>/job")
def upload_job(upload_id: str):
    """Where the script goes once its upload finished: the job importing it."""
    upload = uploads.get(db.session, current_staff(), upload_id)
    job = background.job_for_upload(db.session, upload)
    if job is None:
        return redirect(url_for(".new"))
    return redirect(url_for(".detail", job_id=job.id), 303)


# --- tus 1.0.0 ---------------------------------------------------------------------------------


def _tus_error(refused: UploadRefused):
    language = str(get_locale() or "vi")
    return Response((refused.vi if language == "vi" else refused.en) + "\n", status=refused.status,
                    mimetype="text/plain")


def _check_version():
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        response = Response("Tus-Resumable 1.0.0 required\n", status=412, mimetype="text/plain")
        response.headers["Tus-Version"] = TUS_VERSION
        return response
    return None


@bp.route("/uploads/", methods=["OPTIONS"], provide_automatic_options=False, endpoint="tus_options")
def tus_options():
    response = Response(status=204)
    response.headers.update({"Tus-Version": TUS_VERSION, "Tus-Extension": "creation,termination",
                             "Tus-Max-Size": str(current_app.config["UPLOAD_BATCH_MAX_BYTES"])})
    return response


@bp.post("/uploads/", endpoint="tus_create")
def tus_create():
    if (wrong := _check_version()) is not None:
        return wrong
    raw_length = request.headers.get("Upload-Length", "")
    try:
        if not raw_length.isdecimal() or len(raw_length) > 15:
            raise UploadRefused(400, "Thiếu Upload-Length", "Upload-Length is missing or not a number")
        metadata = uploads.parse_metadata(request.headers.get("Upload-Metadata", ""))
        unit = metadata.get("unit", "")
        upload = uploads.create(db.session, current_staff(), current_app.config, length=int(raw_length),
                                filename=metadata.get("filename", ""),
                                unit_id=int(unit) if unit.isdecimal() and len(unit) < 10 else None)
    except UploadRefused as refused:
        db.session.rollback()
        return _tus_error(refused)
    db.session.commit()
    response = Response(status=201)
    response.headers["Location"] = url_for(".tus_upload", upload_id=upload.id)
    return response


@bp.route("/uploads/<upload_id>", methods=["HEAD", "PATCH", "DELETE"], endpoint="tus_upload")
def tus_upload(upload_id: str):
    if (wrong := _check_version()) is not None:
        return wrong
    config = current_app.config
    upload = uploads.get(db.session, current_staff(), upload_id)
    if request.method == "HEAD":
        response = Response(status=200)
        response.headers.update({"Upload-Offset": str(uploads.offset(config, upload)),
                                 "Upload-Length": str(upload.length)})
        return response
    try:
        if request.method == "DELETE":
            uploads.terminate(db.session, current_staff(), config, upload)
            db.session.commit()
            return Response(status=204)
        if request.mimetype != "application/offset+octet-stream":
            return Response("Content-Type must be application/offset+octet-stream\n", status=415,
                            mimetype="text/plain")
        raw_offset = request.headers.get("Upload-Offset", "")
        if not raw_offset.isdecimal() or len(raw_offset) > 15:
            raise UploadRefused(400, "Thiếu Upload-Offset", "Upload-Offset is missing or not a number")
        reached = uploads.append(config, upload, int(raw_offset),
                                 uploads.read_body(request.stream, request.content_length))
    except UploadRefused as refused:
        db.session.rollback()
        return _tus_error(refused)
    response = Response(status=204)
    response.headers["Upload-Offset"] = str(reached)
    if reached == upload.length:
        job = _finish(upload)
        response.headers["X-Import-Job"] = url_for(".detail", job_id=job.id)
    return response
