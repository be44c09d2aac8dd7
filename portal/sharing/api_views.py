"""API: GET /api/v1/shares/{token}, what a share link's page shows, as JSON (a bank's system reading
the link a customer gave it). The same service opens it as the page does: counted, spent if one-time,
and written to the holder's access log (channel "api", with the calling key, if any)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, url_for

from portal import clock
from portal.api_keys.access import api_access
from portal.db import commit_read
from portal.errors import NotFound
from portal.extensions import db
from portal.openapi import problem, responses, spec
from portal.sharing import links, services
from portal.sharing.api_schemas import ShareAnswer
from portal.sharing.guards import LINK_HEADERS, unknown_token_limit
from portal.units.services import successors

bp = Blueprint("share_api", __name__, url_prefix="/api/v1")

#: Why a link no longer opens, in both languages (410).
GONE = {
    "revoked": ("Người được cấp đã thu hồi liên kết này.", "The holder revoked this link."),
    "expired": ("Liên kết đã hết hạn.", "The link has expired."),
    "used": ("Liên kết chỉ mở được một lần và đã được mở.", "The link could be opened once and has been."),
    "annulled": ("Kết quả đã bị hủy: liên kết không còn hiệu lực.", "The result was annulled: the link no "
                                                                    "longer works."),
    "not_holder": ("Người tạo liên kết không còn đại diện cho tổ chức được cấp kết quả.",
                   "The link's maker no longer represents the organization the result was issued to."),
}


def _unit(unit) -> dict:
    return {"code": unit.code, "name": unit.name, "system": unit.system}


def _headers(response):
    response.headers.update(LINK_HEADERS)
    return response


def share_json(link, token: str) -> dict:
    record, shows = link.record, set(link.fields)
    now = clock.now()
    body = {
        "recipient": link.recipient,
        "verification_code": services.verification_code(link, current_app.config["SECRET_KEY"]),
        "expires_at": clock.in_hanoi(link.expires_at).isoformat(timespec="seconds"),
        "one_time": link.one_time, "fields": list(link.fields),
        "document_type": record.doc_type_name, "number": record.number_display,
        "issued_date": record.issued_date.isoformat(), "valid_from": record.valid_from.isoformat(),
        "valid_to": record.valid_to.isoformat() if record.valid_to else None,
        "status": record.effective_status(now.date()), "as_of": now.isoformat(timespec="seconds"),
        "issuing_unit": _unit(record.issuing_unit),
        "successor_units": [_unit(s.new_unit) for s in successors(record.issuing_unit)],
        "scans": [],
    }
    if "holder_name" in shows:
        body["holder_name"] = record.subject.name
    if "holder_id_number" in shows:
        body["holder_id_number"] = record.subject.id_number
        birth = record.subject.birth_date
        body["holder_birth_date"] = birth.isoformat() if birth else None
    if "summary" in shows:
        body["summary"], body["scope"] = record.summary, record.scope
    if "scans" in shows:
        ticket = links.scan_ticket(link.id, current_app.config)
        body["scans"] = [{"position": position, "page": page,
                          "url": url_for("share.scan", token=token, position=position, page=page, t=ticket)}
                         for position, page in services.scan_pages(link)]
    return body


@bp.get("/shares/<token>")
@spec.validate(resp=responses(ShareAnswer, "HTTP_401", "HTTP_404", "HTTP_410", ok_description=(
    "Các trường được chia sẻ và hiệu lực lúc này / the shared fields and the status now")),
    tags=["shares"], skip_validation=True, operation_id="getShare")
@api_access()
@unknown_token_limit()
def share(token: str):
    """Một liên kết chia sẻ / A share link

    Những gì trang của liên kết cho xem: loại, số, ngày, hiệu lực lúc này, đơn vị cấp, mã đối chiếu, và
    các trường người được cấp đã chọn. Mỗi lần mở ghi vào nhật ký truy cập của người được cấp; liên kết
    một lần bị dùng hết. 404: không có liên kết này; 410: đã thu hồi, hết hạn, đã dùng hoặc kết quả đã bị
    hủy / what the link's page shows: type, number, dates, the status now, the issuing unit, the
    verification code and the fields the holder chose. Every opening is on the holder's access log; a
    one-time link is spent. 404: no such link; 410: revoked, expired, used, or the result was annulled.
    """
    details = {"api_key": g.api_key.id} if g.api_key is not None else None
    try:
        link, _preview = services.open_link(db.session, token, channel="api", details=details)
    except NotFound:
        db.session.rollback()
        return _headers(problem(404, "Không có liên kết chia sẻ này.", "There is no such share link."))
    except services.Gone as gone:
        db.session.rollback()
        vi, en = GONE[gone.state.value]
        return _headers(problem(410, vi, en))
    body = share_json(link, token)
    commit_read(db.session)
    return _headers(jsonify(body))
