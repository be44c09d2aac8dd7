"""The requester's side: asking for a copy through the pages, refusals, cancelling, following a
request with its code. Citizens log in through the real OpenID provider; CSRF stays on."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from portal import clock
from portal.copy_requests import events, services
from portal.copy_requests.models import CopyRequest, CopyRequestEvent
from portal.copy_requests.workflow import Action
from portal.identity.models import Citizen
from portal.outbox import OutboxItem
from portal.units.services import successors
from tests.conftest import csrf_token
from tests.copy_requests.conftest import CITIZEN_ID, ENTERPRISE

REFERENCE = re.compile(r"BS-\d{4}-\d{6}")


def form_url(record) -> str:
    return f"/results/{record.source_id}/copy-request"


def answers(client, record, **values) -> dict:
    data = {"csrf_token": csrf_token(client, form_url(record)), "kind": "electronic", "copies": "1",
            "purpose": "Nộp hồ sơ vay vốn ngân hàng", "delivery_address": "", "email": ""}
    data.update(values)
    return data


def count_requests(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(CopyRequest))


def logged_in(db_session, sub: str = "vneid-7f3a9c21") -> Citizen:
    return db_session.scalar(select(Citizen).where(Citizen.sub == sub))


# --- the whole flow --------------------------------------------------------------------------

def test_a_citizen_requests_a_certified_copy_of_their_result(client, login_citizen, record_of, db_session):
    record = record_of(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh")
    login_citizen(client, "citizen")

    result_page = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert f'href="{form_url(record)}"' in result_page and "Yêu cầu cấp bản sao" in result_page

    page = client.get(form_url(record))
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    html = page.get_data(as_text=True)
    assert 'value="electronic"' in html and "checked" in html and "Miễn phí" in html  # the default kind

    # The fee follows the form without JavaScript: "Tính lại phí" posts it back, errors stay hidden.
    data = answers(client, record, kind="certified", copies="2", purpose="")
    recalculated = client.post(form_url(record) + "/check", data={**data, "recalculate": "1"})
    html = recalculated.get_data(as_text=True)
    assert recalculated.status_code == 200
    assert "Phí: 10.000 đ" in html  # 3 pages: 2 × 2.000 + 1.000 = 5.000 đ per copy, 2 copies
    assert "Vui lòng cho biết mục đích sử dụng bản sao." not in html

    missing = client.post(form_url(record) + "/check", data={**data, "continue": "1"})
    assert missing.status_code == 400
    assert "Vui lòng cho biết mục đích sử dụng bản sao." in missing.get_data(as_text=True)

    data.update(purpose="Nộp hồ sơ vay vốn ngân hàng", email="lan@example.vn")
    check = client.post(form_url(record) + "/check", data={**data, "continue": "1"})
    html = check.get_data(as_text=True)
    assert check.status_code == 200 and "Kiểm tra lại thông tin" in html
    assert "Bản sao điện tử có chứng thực" in html and "Nộp hồ sơ vay vốn ngân hàng" in html
    assert "10.000 đ" in html and 'name="change" value="purpose"' in html

    # "Change" goes back to the form with every answer kept.
    change = client.post(form_url(record) + "/check", data={**data, "change": "purpose"})
    html = change.get_data(as_text=True)
    assert change.status_code == 200 and "autofocus" in html
    assert "Nộp hồ sơ vay vốn ngân hàng</textarea>" in html and 'value="lan@example.vn"' in html
    assert re.search(r'value="certified"[^>]*checked', html)

    assert count_requests(db_session) == 0  # nothing is created before the last step
    created = client.post(form_url(record), data=data)
    assert created.status_code == 303
    reference = created.location.rsplit("/", 1)[1]
    assert REFERENCE.fullmatch(reference) and created.location == f"/copy-requests/{reference}"

    confirmation = client.get(created.location)
    html = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200 and confirmation.headers["Cache-Control"] == "private, no-store"
    code = re.search(r'class="tracking-code">([A-Z0-9-]+)<', html).group(1)
    assert reference in html and "Đã nhận yêu cầu" in html and "10.000 đ" in html
    request = db_session.scalar(select(CopyRequest))
    assert (request.kind, request.copies, request.pages, request.fee_vnd) == ("certified", 2, 3, 10_000)
    assert request.unit == successors(record.issuing_unit)[0].new_unit  # an old unit: its successor
    assert request.requester == logged_in(db_session)
    due = clock.in_hanoi(request.due_at)
    assert f"{due:%H:%M} ngày {due:%d/%m/%Y}" in html
    assert request.tracking_code_hash and code.replace("-", "") not in request.tracking_code_hash
    # The e-mail, sent from the outbox right after the commit (written to DATA_DIR/mail in tests),
    # carries the same code; the database keeps only its hash, and the outbox row is gone.
    [mail] = (Path(current_app.config["DATA_DIR"]) / "mail").glob("*.eml")
    assert code in email.message_from_bytes(mail.read_bytes(), policy=email.policy.default) \
        .get_body(preferencelist=("plain",)).get_content()
    assert db_session.scalar(select(OutboxItem).where(OutboxItem.topic == "email.copy_request")) is None
    # The code is shown once.
    assert code not in client.get(created.location).get_data(as_text=True)

    mine = client.get("/my/copy-requests").get_data(as_text=True)
    assert reference in mine and "Trích lục khai sinh" in mine and "Quá hạn" not in mine
    assert 'href="/my/copy-requests"' in mine  # the header link

    # Anyone with the reference and the code follows it without logging in, without personal fields.
    anonymous = client.application.test_client()
    token = csrf_token(anonymous, "/copy-requests/track")
    tracked = anonymous.post("/copy-requests/track", data={"csrf_token": token, "reference": reference,
                                                           "code": code.lower().replace("-", " ")})
    html = tracked.get_data(as_text=True)
    assert tracked.status_code == 200 and reference in html and "Đã nhận yêu cầu" in html
    assert CITIZEN_ID not in html and "Nộp hồ sơ vay vốn" not in html and "lan@example.vn" not in html
    assert "Hủy yêu cầu này" not in html

    # Cancelled by the requester while it is only submitted.
    detail = client.get(created.location).get_data(as_text=True)
    assert "Hủy yêu cầu này" in detail
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', detail.split("/cancel")[1]).group(1)
    cancelled = client.post(f"/copy-requests/{reference}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    html = client.get(created.location).get_data(as_text=True)
    assert "Đã hủy" in html and "Hủy yêu cầu này" not in html
    db_session.expire_all()
    assert request.state == "cancelled" and request.closed_at is not None
    assert [e.action for e in request.events] == ["submit", "cancel"]
    assert request.events[1].actor == logged_in(db_session).audit_name


def test_a_paper_copy_by_post_needs_an_address_and_pays_postage(client, login_citizen, record_of, db_session):
    record = record_of(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    data = answers(client, record, kind="paper_post", copies="1")
    refused = client.post(form_url(record) + "/check", data={**data, "continue": "1"})
    assert refused.status_code == 400
    assert "Vui lòng nhập địa chỉ nhận bản sao qua bưu chính." in refused.get_data(as_text=True)
    data["delivery_address"] = "Số 5 phố Huế, phường Hai Bà Trưng, Hà Nội"
    check = client.post(form_url(record) + "/check", data={**data, "continue": "1"}).get_data(as_text=True)
    assert "33.000 đ" in check and "Số 5 phố Huế" in check  # 8.000 đ + 25.000 đ postage
    assert client.post(form_url(record), data=data).status_code == 303
    request = db_session.scalar(select(CopyRequest))
    assert request.fee_vnd == 33_000 and request.delivery_address.startswith("Số 5 phố Huế")
    # Three more working days than an electronic copy.
    calendar = services.default_rules().calendar
    assert request.due_at == calendar.due_at(request.submitted_at, "paper_post")


def test_an_address_is_dropped_for_kinds_that_are_not_posted(client, login_citizen, record_of, db_session):
    record = record_of(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    client.post(form_url(record), data=answers(client, record, delivery_address="Số 5 phố Huế"))
    assert db_session.scalar(select(CopyRequest)).delivery_address == ""


@pytest.mark.parametrize(("values", "message"), [
    ({"copies": "11"}, "Vui lòng nhập số bản sao, từ 1 đến 10."),
    ({"copies": "0"}, "Vui lòng nhập số bản sao, từ 1 đến 10."),
    ({"copies": "hai"}, "Vui lòng nhập số bản sao, từ 1 đến 10."),
    ({"purpose": "x" * 301}, "Mục đích sử dụng tối đa 300 ký tự."),
    ({"purpose": "   "}, "Vui lòng cho biết mục đích sử dụng bản sao."),
    ({"email": "lan@"}, "Vui lòng nhập địa chỉ thư điện tử, ví dụ ten@example.vn."),
    ({"kind": "photo"}, "Vui lòng chọn loại bản sao."),
])
def test_bad_answers_get_a_clear_message_and_create_nothing(client, login_citizen, record_of, db_session,
                                                            values, message):
    record = record_of(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    data = answers(client, record, **values)
    check = client.post(form_url(record) + "/check", data={**data, "continue": "1"})
    assert check.status_code == 400 and message in check.get_data(as_text=True)
    assert "Not a valid" not in check.get_data(as_text=True)  # no English message of WTForms' own
    # Posted straight to the last step (a hand-made form), it is checked again there.
    created = client.post(form_url(record), data=data)
    assert created.status_code == 400 and message in created.get_data(as_text=True)
    assert count_requests(db_session) == 0


def test_without_the_csrf_token_nothing_is_created(client, login_citizen, record_of, db_session):
    record = record_of(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    data = answers(client, record)
    del data["csrf_token"]
    assert client.post(form_url(record), data=data).status_code == 400
    assert client.post(form_url(record) + "/check", data={**data, "recalculate": "1"}).status_code == 400
    assert count_requests(db_session) == 0


# --- who may request -------------------------------------------------------------------------

def test_anyone_logged_in_may_request_a_public_result(client, login_citizen, record_of):
    public = record_of("001099000111", access="public")
    login_citizen(client, "citizen")
    assert client.get(form_url(public)).status_code == 200


def test_a_business_requests_copies_of_its_enterprise_results(client, login_citizen, record_of, db_session):
    record = record_of(ENTERPRISE, kind="organization", access="personal")
    login_citizen(client, "business")
    assert client.post(form_url(record), data=answers(client, record)).status_code == 303
    assert db_session.scalar(select(CopyRequest)).record_id == record.id


def test_someone_elses_personal_result_is_refused_with_the_reason(client, login_citizen, record_of,
                                                                  db_session):
    other = record_of("001099000111", access="personal")
    login_citizen(client, "citizen")
    page = client.get(form_url(other))
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "Không thể yêu cầu bản sao của kết quả này" in html and "không phải của bạn" in html
    token = csrf_token(client, "/copy-requests/track")
    posted = client.post(form_url(other), data={"csrf_token": token, "kind": "electronic", "copies": "1",
                                                "purpose": "Thử"})
    assert posted.status_code == 403 and count_requests(db_session) == 0
    assert f'href="{form_url(other)}"' not in client.get(f"/results/{other.source_id}").get_data(as_text=True)


def test_results_without_scans_or_revoked_are_refused(client, login_citizen, record_of):
    unscanned = record_of(CITIZEN_ID, access="personal", files=False)
    revoked = record_of(CITIZEN_ID, access="personal", status="revoked")
    login_citizen(client, "citizen")
    page = client.get(form_url(unscanned))
    assert page.status_code == 403 and "chưa có trang số hóa" in page.get_data(as_text=True)
    page = client.get(form_url(revoked))
    assert page.status_code == 403 and "đã bị thu hồi hoặc hủy bỏ" in page.get_data(as_text=True)


def test_logging_in_is_needed_and_at_level_two(client, login_citizen, record_of):
    record = record_of("001190034567", access="personal")  # the level-1 account's own result
    anonymous = client.get(form_url(record))
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login?next=")
    assert client.get("/my/copy-requests").status_code == 302
    login_citizen(client, "citizen-level-1")
    assert client.get(form_url(record)).status_code == 403
    assert client.get("/my/copy-requests").status_code == 403


def test_an_unknown_result_is_not_found(client, login_citizen):
    login_citizen(client, "citizen")
    assert client.get("/results/HN-NOPE/copy-request").status_code == 404


# --- cancelling, someone else's requests, my requests ----------------------------------------

def test_cancel_is_refused_once_the_desk_took_it_up(client, login_citizen, record_of, make_request,
                                                    db_session):
    record = record_of(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    request, _ = make_request(record, logged_in(db_session))
    events.transition(db_session, request, Action.ASSIGN, "staff:1")
    db_session.commit()
    detail = client.get(f"/copy-requests/{request.reference}").get_data(as_text=True)
    assert "Hủy yêu cầu này" not in detail and "Đang xử lý" in detail
    token = csrf_token(client, "/copy-requests/track")
    answer = client.post(f"/copy-requests/{request.reference}/cancel", data={"csrf_token": token},
                         follow_redirects=True)
    assert "không thể hủy" in answer.get_data(as_text=True)
    db_session.expire_all()
    assert request.state == "in_progress" and len(request.events) == 2


def test_someone_elses_request_is_not_found(client, login_citizen, make_request, db_session):
    request, _ = make_request()  # another citizen's
    login_citizen(client, "citizen")
    assert client.get(f"/copy-requests/{request.reference}").status_code == 404
    token = csrf_token(client, "/copy-requests/track")
    answer = client.post(f"/copy-requests/{request.reference}/cancel", data={"csrf_token": token})
    assert answer.status_code == 404
    db_session.expire_all()
    assert request.state == "submitted"


def test_cancel_without_csrf_changes_nothing(client, login_citizen, record_of, make_request, db_session):
    record = record_of(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    request, _ = make_request(record, logged_in(db_session))
    client.post(f"/copy-requests/{request.reference}/cancel")
    db_session.expire_all()
    assert request.state == "submitted"


def test_my_requests_lists_mine_marks_overdue_and_has_an_empty_state(client, login_citizen, record_of,
                                                                     make_request, db_session):
    login_citizen(client, "citizen")
    empty = client.get("/my/copy-requests").get_data(as_text=True)
    assert "Bạn chưa gửi yêu cầu cấp bản sao nào." in empty
    citizen = logged_in(db_session)
    record = record_of(CITIZEN_ID, access="personal")
    late, _ = make_request(record, citizen, now=datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # due 2 March
    fresh, _ = make_request(record, citizen, kind="certified")
    others, _ = make_request()
    html = client.get("/my/copy-requests").get_data(as_text=True)
    assert late.reference in html and fresh.reference in html and others.reference not in html
    assert "2 yêu cầu" in html and html.count('class="tag--overdue"') == 1
    row = html.split(late.reference)[2].split("</tr>")[0]
    assert "Quá hạn" in row and "02/03/2026" in row
    assert "Quá hạn" in client.get(f"/copy-requests/{late.reference}").get_data(as_text=True)


# --- tracking without logging in -------------------------------------------------------------

def track(client, reference, code, ip="203.0.113.7"):
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client, "/copy-requests/track")
    return client.post("/copy-requests/track",
                       data={"csrf_token": token, "reference": reference, "code": code})


GENERIC = "Không tìm thấy yêu cầu nào có số tham chiếu và mã tra cứu này."


def test_a_wrong_code_or_reference_gets_one_generic_answer(client, make_request):
    request, code = make_request()
    for reference, attempt in ((request.reference, "AAAAA-BBBBB"), ("BS-2026-999999", code), ("hello", code)):
        answer = track(client, reference, attempt)
        assert answer.status_code == 400 and GENERIC in answer.get_data(as_text=True), reference
    assert track(client, request.reference, code).status_code == 200


def test_tracking_stops_after_five_wrong_codes_from_one_address(client, make_request, db_session):
    request, code = make_request()
    for _ in range(5):
        assert track(client, request.reference, "AAAAA-BBBBB").status_code == 400
    blocked = track(client, request.reference, code)
    assert blocked.status_code == 429 and "quá nhiều lần" in blocked.get_data(as_text=True)
    # Another address is not blocked by the first one's tries.
    assert track(client, request.reference, code, ip="198.51.100.20").status_code == 200
    # The tries are on the audit chain, with a hash of the address, not the address.
    from portal.audit import AuditEntry
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "copy.track_failed")).all()
    assert len(entries) == 5 and all("203.0.113.7" not in str(e.details) for e in entries)


def failed_tries(db_session) -> int:
    from portal.audit import AuditEntry
    return db_session.scalar(select(func.count()).where(AuditEntry.action == "copy.track_failed"))


def test_one_address_gets_twenty_tries_an_hour_whatever_the_reference(client, make_request, db_session):
    # References are sequential: walking them from one address stops at COPY_TRACK_RATE_LIMIT,
    # and a refused try reads nothing and writes nothing to the audit chain.
    request, code = make_request()
    answers = [track(client, f"BS-2026-{900000 + n}", "AAAAA-BBBBB").status_code for n in range(30)]
    assert answers == [400] * 20 + [429] * 10
    refused = track(client, request.reference, code)  # even the right code waits
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Quá nhiều lần thử" in refused.get_data(as_text=True)
    assert failed_tries(db_session) == 20
    assert track(client, request.reference, code, ip="198.51.100.20").status_code == 200


def test_strangers_failing_on_a_reference_never_lock_its_owner_out(client, make_request, db_session):
    request, code = make_request()
    strangers = [f"203.0.113.{n}" for n in range(10, 16)]
    answers = [[track(client, request.reference, "AAAAA-BBBBB", ip=ip).status_code for _ in range(6)]
               for ip in strangers]
    owner = track(client, request.reference, code, ip="198.51.100.20")
    assert owner.status_code == 200 and request.reference in owner.get_data(as_text=True)
    assert answers == [[400] * 5 + [429]] * len(strangers)  # each stranger stops after five
    assert failed_tries(db_session) == 30


def test_the_audit_chain_cannot_give_back_who_tried_a_code(client, make_request, db_session):
    # An address is personal data: the chain keeps a keyed hash, not one anyone can recompute by
    # hashing every IPv4 address (security review of issue 13, item 6).
    import hashlib

    from portal.audit import AuditEntry
    request, _ = make_request()
    assert track(client, request.reference, "AAAAA-BBBBB", ip="203.0.113.77").status_code == 400
    tag = db_session.scalar(select(AuditEntry.details).where(AuditEntry.action == "copy.track_failed"))["client"]
    assert "203.0.113.77" not in tag
    assert tag != hashlib.sha256(b"track:203.0.113.77").hexdigest()[:16]


def test_tracking_shows_a_staff_decision(client, make_request, db_session):
    request, code = make_request()
    events.transition(db_session, request, Action.REJECT, "staff:7", note="Kết quả đang được đính chính")
    request.reject_note = "Kết quả đang được đính chính"
    db_session.commit()
    html = track(client, request.reference, code).get_data(as_text=True)
    assert "Bị từ chối" in html and "Kết quả đang được đính chính" in html


# --- the service itself ----------------------------------------------------------------------

def test_references_are_unique_and_follow_the_year_in_hanoi(make_request, make_citizen, record_of,
                                                            db_session):
    citizen = make_citizen()
    record = record_of(citizen.subject.id_number, access="personal")
    # 31 December 2025, 23:30 in Hanoi is still 2025 there (16:30 UTC).
    first, code1 = make_request(record, citizen, now=datetime(2025, 12, 31, 16, 30, tzinfo=UTC))
    second, code2 = make_request(record, citizen, now=datetime(2025, 12, 31, 17, 30, tzinfo=UTC))
    assert first.reference == f"BS-2025-{first.id:06d}" and second.reference == f"BS-2026-{second.id:06d}"
    assert code1 != code2 and len(code1) == 11
    assert db_session.scalar(select(func.count()).select_from(CopyRequestEvent)) == 2


def test_the_service_refuses_what_the_form_would(make_citizen, record_of, db_session):
    citizen = make_citizen()
    record = record_of(citizen.subject.id_number, access="personal")
    other = record_of("001099000999", access="personal")
    good = {"kind": "electronic", "copies": 1, "purpose": "Hồ sơ"}
    with pytest.raises(services.CopyRefused) as refused:
        services.submit(db_session, citizen, other.source_id, good)
    assert refused.value.reason == "not_yours"
    for bad in ({"copies": 11}, {"copies": "2"}, {"purpose": ""}, {"kind": "x"},
                {"kind": "paper_post", "delivery_address": " "}, {"email": "a b@c.vn"}):
        with pytest.raises(services.InvalidInput):
            services.submit(db_session, citizen, record.source_id, {**good, **bad})
    db_session.rollback()
    assert count_requests(db_session) == 0
