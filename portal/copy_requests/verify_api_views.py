"""API: verification of a signed copy by code and by upload, the same checks as /verify.

Both call portal.copy_requests.verification as the /verify page does, so a bank's system and a
person at the page get the same verdict, and each check of an issued copy is in its holder's access
log, with channel "api" and the calling key (or "anonymous") as the reader.

An upload is parsed (in a budgeted child process, when it is not byte for byte a copy we issued),
so it needs a key with the scope ``verify``: anonymous uploads stay on the /verify page and its
limits. The body is either the PDF itself (``Content-Type: application/pdf``, what
``curl --data-binary`` sends) or a multipart form with the field ``file``; its size is checked
against COPY_VERIFY_MAX_BYTES from Content-Length before a byte is read, and no more than that
(plus one byte) is ever read.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api_keys.access import api_access
from portal.copy_requests import verification
from portal.copy_requests.verify_api_schemas import UploadForm, VerificationAnswer
from portal.db import commit_read
from portal.errors import InvalidInput
from portal.extensions import csrf, db
from portal.i18n import in_both_languages
from portal.openapi import problem, raw_body, responses, spec

bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")

#: A verification is about this minute: never cached, never kept by a proxy (as /verify).
NO_STORE = "no-store"
#: Media types taken as the PDF itself in the body.
RAW_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream")
#: Room for a multipart body's boundary and part headers around the file.
MULTIPART_SLACK = 64 * 1024

raw_body("verifyUpload", "application/pdf", "Tệp PDF bản sao là toàn bộ thân yêu cầu / the PDF copy as "
                                            "the whole body")


def _answer(result: verification.Verification):
    commit_read(db.session)  # the holder's access-log entry of the check
    response = jsonify(result.as_json())
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("/verifications/<code>")
@spec.validate(resp=responses(VerificationAnswer, "HTTP_401", "HTTP_404", ok_description=(
    "Kết quả xác minh; mã không có cũng là 200 với outcome unknown, như /verify / the verification; an "
    "unknown code is 200 with outcome unknown, as /verify")),
    tags=["verification"], skip_validation=True, operation_id="verifyCode")
@api_access()
def by_code(code: str):
    """Xác minh bản sao theo mã / Verify a copy by its code

    Cùng kiểm tra như /verify/<mã>: tệp đã cấp còn nguyên, chữ ký, hiệu lực hôm nay; mỗi lần kiểm tra
    ghi vào nhật ký truy cập của người được cấp / the same checks as /verify/<code>: the issued file is
    unaltered, its signature, the result's status now; each check is logged for the holder.
    """
    result = verification.verify_code(db.session, code.strip(), g.api_key, current_app.config, channel="api")
    return _answer(result)


@bp.post("/verifications")
@csrf.exempt  # no cookie session to protect: a key or nothing, and the check changes nothing
@spec.validate(form=UploadForm, resp=responses(
    VerificationAnswer, "HTTP_400", "HTTP_401", "HTTP_403", "HTTP_413", ok_description=(
        "Kết quả xác minh tệp; tệp PDF không do cổng cấp là 200 với outcome unknown / the file's "
        "verification; a PDF not issued here is 200 with outcome unknown")),
    tags=["verification"], skip_validation=True, operation_id="verifyUpload")
@api_access("verify")
def upload():
    """Xác minh tệp bản sao tải lên / Verify an uploaded copy

    Thân yêu cầu là tệp PDF (Content-Type: application/pdf) hoặc biểu mẫu multipart có trường file;
    tối đa 20 MB (413 nếu lớn hơn); cần khóa có quyền verify / the body is the PDF (Content-Type:
    application/pdf) or a multipart form with the field file; at most 20 MB (413 beyond); needs a key
    with the scope verify.
    """
    limit = int(current_app.config["COPY_VERIFY_MAX_BYTES"])
    try:
        data = _read_upload(limit)
    except RequestEntityTooLarge:
        mb = limit // (1024 * 1024)
        return problem(413, f"Tệp lớn hơn {mb} MB: bản sao do cổng cấp nhỏ hơn nhiều.",
                       f"The file is larger than {mb} MB: a copy issued by the portal is much smaller.")
    if data is None:
        return problem(400, "Gửi tệp PDF làm thân yêu cầu (Content-Type: application/pdf) hoặc trong "
                            "trường file của biểu mẫu multipart/form-data.",
                       "Send the PDF as the body (Content-Type: application/pdf) or in the field file of "
                       "a multipart/form-data form.")
    try:
        result = verification.verify_upload(db.session, data, g.api_key, current_app.config, channel="api")
    except InvalidInput as error:
        # verification's messages are lazy: each reads in the language in force when made a string.
        message = in_both_languages(error.args[0] if error.args else "")
        return problem(400, message["vi"], message["en"])
    return _answer(result)


def _read_upload(limit: int) -> bytes | None:
    """The file's bytes, reading at most ``limit`` + 1 of them; None when the body is neither a PDF nor
    a form with a file. Raises RequestEntityTooLarge past ``limit`` (declared or read)."""
    declared = request.content_length or 0
    if request.mimetype == "multipart/form-data":
        if declared > limit + MULTIPART_SLACK:
            raise RequestEntityTooLarge()
        request.max_content_length = limit + MULTIPART_SLACK  # a body without Content-Length too
        storage = request.files.get("file")
        data = storage.stream.read(limit + 1) if storage is not None else None
    elif request.mimetype in RAW_TYPES:
        if declared > limit:
            raise RequestEntityTooLarge()
        data = request.stream.read(limit + 1)
    else:
        return None
    if data is not None and len(data) > limit:
        raise RequestEntityTooLarge()
    return data
