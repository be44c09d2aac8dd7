"""API: status of many results in one request (POST /api/v1/results/status), for back offices."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from portal import clock
from portal.api_keys.access import api_access
from portal.db import commit_read
from portal.extensions import csrf, db
from portal.openapi import problem, responses, spec
from portal.records import status_check
from portal.records.status_check import MAX_ITEM_LENGTH, MAX_ITEMS
from portal.search import identifiers
from portal.search.api_schemas import Unit
from portal.search.batch_schemas import CONTROL_CHARACTERS, BatchStatusAnswer, BatchStatusBody
from portal.units.services import successors

bp = Blueprint("batch_api", __name__, url_prefix="/api/v1")


def _items_or_refusal(body: object) -> list[str] | tuple[str, str]:
    """The items of the body, or (vi, en) saying what is wrong with it."""
    if not isinstance(body, dict):
        return ("Thân yêu cầu phải là một đối tượng JSON {\"items\": [...]}.",
                "The body must be a JSON object {\"items\": [...]}.")
    items = body.get("items")
    if items is None:
        return ("Thiếu items (danh sách số kết quả hoặc mã kết quả).",
                "items (a list of result numbers or ids) is missing.")
    if not isinstance(items, list):
        return "items phải là một danh sách.", "items must be a list."
    if not 1 <= len(items) <= MAX_ITEMS:
        return (f"items phải có từ 1 đến {MAX_ITEMS} mục (đã gửi {len(items)}).",
                f"items must have 1 to {MAX_ITEMS} entries ({len(items)} sent).")
    for position, item in enumerate(items):
        if not isinstance(item, str) or not 1 <= len(item) <= MAX_ITEM_LENGTH:
            return (f"items[{position}] phải là chuỗi từ 1 đến {MAX_ITEM_LENGTH} ký tự.",
                    f"items[{position}] must be a string of 1 to {MAX_ITEM_LENGTH} characters.")
        if CONTROL_CHARACTERS.search(item):  # no number has one; PostgreSQL refuses a NUL outright
            return (f"items[{position}] có ký tự điều khiển.",
                    f"items[{position}] contains a control character.")
    return items


def _personal_id(item: str) -> bool:
    return identifiers.is_private(identifiers.classify(item))


def _unit(unit, shown: dict[int, dict]) -> dict:
    """A unit as the answer shows it, made once a request (a number shared by many units of a few
    districts names the same units hundreds of times)."""
    if unit.id not in shown:
        shown[unit.id] = Unit.model_validate(unit, from_attributes=True).model_dump()
    return shown[unit.id]


@bp.post("/results/status")
@csrf.exempt  # a key, not a cookie, authorizes it: no cross-site form can use it
@spec.validate(json=BatchStatusBody, resp=responses(
    BatchStatusAnswer, "HTTP_400", "HTTP_401", "HTTP_403", ok_description=(
        "Hiệu lực hôm nay của từng mục, cùng thứ tự / today's status of each item, in order")),
    tags=["results"], skip_validation=True, operation_id="batchStatus")
@api_access("status:batch")
def batch_status():
    """Kiểm tra hiệu lực theo lô / Batch status check

    Tối đa 100 số kết quả hoặc mã kết quả mỗi yêu cầu, mỗi mục trả lời hiệu lực hôm nay; cần khóa có
    quyền status:batch; kết quả cá nhân chỉ hiện với quyền personal:read (và được ghi vào nhật ký truy
    cập của người được cấp); một yêu cầu tính một lần vào hạn mức / up to 100 result numbers or ids per
    request, each answered with today's status; needs a key with the status:batch scope; personal
    results only with personal:read (and logged for their holder); a request counts once against the quota.
    """
    items = _items_or_refusal(request.get_json(silent=True))
    if isinstance(items, tuple):
        return problem(400, *items)
    now = clock.now()
    today = now.date()
    # A personal id typed by mistake is never looked up, as in search (identifiers.is_private).
    answers = status_check.check(db.session, items, g.api_key, never_a_number=_personal_id)
    commit_read(db.session)  # the access-log entries of personal results read
    units: dict[int, dict] = {}
    response = jsonify({
        "checked_at": now.isoformat(timespec="seconds"),
        "as_of": today.isoformat(),
        "results": [{"item": answer.item, "found": answer.found, "matches": [{
            "source_id": record.source_id,
            "number": record.number_display,
            "doc_type_name": record.doc_type_name,
            "status": str(record.effective_status(today)),
            "valid_from": record.valid_from.isoformat(),
            "valid_to": record.valid_to.isoformat() if record.valid_to else None,
            "issuing_unit": _unit(record.issuing_unit, units),
            "successor_units": [_unit(link.new_unit, units) for link in successors(record.issuing_unit)],
        } for record in answer.matches]} for answer in answers],
    })
    response.headers["Cache-Control"] = "private, no-store"
    return response
