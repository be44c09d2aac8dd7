"""The API's contract: OpenAPI 3.1 derived from pydantic models by spectree, and one error shape.

spectree documents the routes it decorates on a plain Flask app: no app subclass, no global error
handlers, no UI routes (page_templates is empty; /api/docs is our own server-rendered page). The
views keep their own parameter checks (skip_validation=True), so their messages and behaviour stay
as they were; schemathesis (tests/api/test_contract.py) checks that the answers match these models.

Errors are RFC 9457 problem details (application/problem+json): type, title, status, detail, and
`messages: {vi, en}` - the same pair the API already gave - so a client shows the reader's language.
"""

from __future__ import annotations

from flask import Response, current_app, has_request_context, json
from pydantic import BaseModel, ConfigDict, Field
from spectree import SpecTree
from spectree.response import Response as Responses
from werkzeug.http import HTTP_STATUS_CODES

from portal.request_ids import request_id

PROBLEM_MIMETYPE = "application/problem+json"

#: Every operation may answer these (a NUL byte in the address or query: portal.security; the
#: limiter; an unknown method; a bug) besides its own codes.
COMMON_ERRORS = ("HTTP_400", "HTTP_405", "HTTP_429", "HTTP_500")

spec = SpecTree(
    "flask",
    title="Hanoi administrative-procedure results API / API kết quả thủ tục hành chính Hà Nội",
    version="1.0.0",
    description=("Tra cứu công khai các kết quả thủ tục hành chính đã số hóa của Hà Nội. "
                 "/ Public lookup of Hanoi's digitized administrative-procedure results."),
    # Not a real prefix: spectree leaves out every route under it, so it must not be /api/v1.
    path="_openapi",
    page_templates={},
    mode="strict",  # only the operations decorated with spec.validate
    annotations=False,
)


class Messages(BaseModel):
    vi: str = Field(description="Tiếng Việt / Vietnamese")
    en: str = Field(description="Tiếng Anh / English")


class Problem(BaseModel):
    """Lỗi theo RFC 9457 / An RFC 9457 problem detail."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Lỗi theo RFC 9457 / An RFC 9457 problem detail"})

    type: str = Field(description="URI kiểu lỗi / problem type URI", examples=["about:blank"])
    title: str = Field(description="Tên lỗi (tiếng Anh) / short English title")
    status: int = Field(description="Mã HTTP / HTTP status code", ge=400, le=599)
    detail: str = Field(description="'tiếng Việt / English' trong một chuỗi / both languages in one string")
    messages: Messages
    request_id: str | None = Field(None, description="Mã yêu cầu, để báo khi cần hỗ trợ (như X-Request-ID) / "
                                                     "the request id to quote to support (as X-Request-ID)")


class PageLinks(BaseModel):
    """Địa chỉ các trang (từ gốc máy chủ); null khi không có / page addresses (root-relative); null when
    there is none."""

    self: str = Field(description="Trang này / this page")
    next: str | None = Field(description="Trang sau / next page")
    prev: str | None = Field(description="Trang trước / previous page")
    first: str = Field(description="Trang đầu / first page")
    last: str = Field(description="Trang cuối / last page")


#: status → (English title, Vietnamese detail, English detail) for errors no view words itself.
STANDARD_PROBLEMS = {
    400: ("Bad Request", "Yêu cầu không hợp lệ.", "The request is not valid."),
    401: ("Unauthorized", "Khóa API không hợp lệ, đã bị thu hồi hoặc còn thiếu.",
          "The API key is invalid, revoked or missing."),
    403: ("Forbidden", "Khóa API không có quyền này.", "The API key does not have this scope."),
    404: ("Not Found", "Không tìm thấy địa chỉ này.", "There is nothing at this address."),
    405: ("Method Not Allowed", "Phương thức không được hỗ trợ ở địa chỉ này.",
          "This method is not allowed at this address."),
    410: ("Gone", "Liên kết không còn hiệu lực.", "The link no longer works."),
    413: ("Content Too Large", "Nội dung gửi lên quá lớn.", "The request body is too large."),
    429: ("Too Many Requests", "Quá nhiều yêu cầu, vui lòng thử lại sau.",
          "Too many requests; try again later."),
    500: ("Internal Server Error", "Đã có lỗi ở máy chủ; chúng tôi đã ghi nhận.",
          "Something went wrong on the server; it has been logged."),
}


def problem(status: int, vi: str | None = None, en: str | None = None) -> Response:
    """An application/problem+json answer; without words, the standard ones for the status."""
    fallback = STANDARD_PROBLEMS[500 if status >= 500 else 400]
    _title, default_vi, default_en = STANDARD_PROBLEMS.get(status, fallback)
    title, vi, en = HTTP_STATUS_CODES.get(status, "Error"), vi or default_vi, en or default_en
    body = {"type": "about:blank", "title": title, "status": status, "detail": f"{vi} / {en}",
            "messages": {"vi": vi, "en": en}}
    if has_request_context():
        body["request_id"] = request_id()
    return current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)


def responses(ok: type[BaseModel] | None, *errors: str, ok_description: str,
              bodiless: dict[str, str] | None = None) -> Responses:
    """The documented answers of one operation: 200 with `ok`, then problems for `errors` + COMMON_ERRORS;
    `bodiless`: code → description of answers without a body (304, 308)."""
    codes = {"HTTP_200": ok, **{code: Problem for code in (*errors, *COMMON_ERRORS)}}
    documented = Responses(*(bodiless or {}), **codes)
    documented.code_descriptions["HTTP_200"] = ok_description
    documented.code_descriptions.update(bodiless or {})
    for code in (*errors, *COMMON_ERRORS):
        status = int(code.removeprefix("HTTP_"))
        _title, vi, en = STANDARD_PROBLEMS[status]
        documented.code_descriptions[code] = f"{vi} / {en}"
    return documented


#: How a key is sent (portal/api_keys/access.py): either header, the same key.
SECURITY_SCHEMES = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "Khóa API của tổ chức (hnp_…) / an organization's API key (hnp_…)"},
    "bearerKey": {"type": "http", "scheme": "bearer",
                  "description": "Cùng khóa, trong Authorization: Bearer / the same key as a bearer token"},
}


def operation_access() -> dict[str, tuple[bool, str]]:
    """operationId → what `api_access` asks of a caller: (whether a key is required, the scope it
    must have or ""). Read from the decorated views themselves."""
    return {meta.operation_id: func.api_access for func, meta in spec._function_metadata.items()
            if meta.operation_id and hasattr(func, "api_access")}


def _security(key_required: bool, scope: str) -> list[dict]:
    keyed = [{name: [scope] if scope else []} for name in SECURITY_SCHEMES]
    return keyed if key_required else [{}, *keyed]  # {}: no key needed (anonymous, per-address limit)


#: operationId → {media type: schema} of request bodies spectree cannot declare (it knows JSON and
#: multipart forms only): a file sent as the raw body, e.g. `curl --data-binary @copy.pdf`.
RAW_BODIES: dict[str, dict[str, dict]] = {}


def raw_body(operation_id: str, media_type: str, description: str) -> None:
    """Document that ``operation_id`` also takes a file of ``media_type`` as its whole body."""
    RAW_BODIES.setdefault(operation_id, {})[media_type] = {
        "schema": {"type": "string", "format": "binary", "description": description}}


def document() -> dict:
    """The OpenAPI document, with problem bodies under their own media type (spectree says JSON),
    each operation's security as `api_access` enforces it, and the raw bodies of `raw_body`."""
    document = json.loads(json.dumps(spec.spec))
    problem_ref = {"$ref": "#/components/schemas/" + _problem_component(document)}
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    access = operation_access()
    for operation in (op for item in document["paths"].values() for op in item.values()):
        if operation.get("operationId") in access:
            operation["security"] = _security(*access[operation["operationId"]])
        if operation.get("operationId") in RAW_BODIES:
            body = operation.setdefault("requestBody", {"content": {}, "required": True})
            body["content"] = {**RAW_BODIES[operation["operationId"]], **body["content"]}
        # spectree adds its own 422 for request validation, which these views do not use (they say 400).
        operation["responses"].pop("422", None)
        schemas = document["components"]["schemas"]
        for name in [name for name in schemas if name.startswith("ValidationError.")]:
            del schemas[name]
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                answer["content"] = {PROBLEM_MIMETYPE: {"schema": problem_ref}}
    return document


def _problem_component(document: dict) -> str:
    # spectree names components "<Model>.<hash>" and nested ones "<Model>.<hash>.<Nested>".
    return next(name for name in document["components"]["schemas"] if name.split(".")[::2] == ["Problem"])


def short_name(component: str) -> str:
    """'SearchAnswer.acbe048.Hit' → 'Hit', 'Problem.861e167' → 'Problem' (spectree's hashed names)."""
    parts = component.split(".")
    return parts[-1] if len(parts) > 2 else parts[0]


def schema_label(schema: dict) -> str:
    """A short type for the reference page: 'string', 'integer 1–100', 'list of Hit', 'Unit or null'."""
    if "$ref" in schema:
        return short_name(schema["$ref"].rsplit("/", 1)[-1])
    if "anyOf" in schema:
        return " or ".join(schema_label(part) for part in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return "list of " + schema_label(schema.get("items", {}))
    if kind == "object" and "additionalProperties" in schema:
        return "map of " + schema_label(schema["additionalProperties"])
    bounds = (schema.get("minimum"), schema.get("maximum"))
    if bounds != (None, None):
        low, high = ("" if bound is None else bound for bound in bounds)
        return f"{kind} {low}–{high}"
    return kind + (f" ~ {schema['pattern']}" if "pattern" in schema else "")
