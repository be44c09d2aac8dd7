"""Requests to digitize a result the search did not find (docs/coverage.md): anyone sends one, it
goes to the unit that handles the issuing unit's results now, the requester follows it with a code
like a petition, the unit's clerks take and answer it, the requester is told by e-mail."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.coverage.models import DigitizationRequest
from portal.extensions import db
from tests.conftest import csrf_token
from tests.web.conftest import legacy_unit_with_successor

NEW = "/digitization-requests/new"
TRACK = "/digitization-requests/track"
QUEUE = "/staff/digitization-requests/"
REQUESTER = {
    "requester_name": "Lê Văn Tám",
    "requester_phone": "0912 345 678",
    "requester_email": "tam.le@example.vn",
}


def vi(app, msgid: str, **values) -> str:
    with app.test_request_context(), force_locale("vi"):
        return str(escape(gettext(msgid, **values)))


def mails(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["DATA_DIR"]) / "mail"
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def merged(db_session):
    """An old commune wholly merged into a current ward: (old, current)."""
    old = legacy_unit_with_successor(db_session, partial=False)
    return old, old.successor_links[0].new_unit


def form_data(client, unit, **changes) -> dict:
    data = {
        **REQUESTER,
        "doc_number": "123/GPXD",
        "issued_date": "2019-05-14",
        "issuing_unit_id": str(unit.id),
        "procedure_code": "",
        "note": "",
        "csrf_token": csrf_token(client, NEW),
    }
    data.update(changes)
    return data


def send(client, unit, **changes) -> tuple[str, str]:
    response = client.post(NEW, data=form_data(client, unit, **changes))
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    html = client.get(response.location).get_data(as_text=True)
    return (
        re.search(r'class="reference">(SH-\d{4}-\d{6})<', html).group(1),
        re.search(r'class="tracking-code">([A-Z0-9-]+)<', html).group(1),
    )


def track(client, reference: str, code: str):
    return client.post(
        TRACK, data={"reference": reference, "code": code, "csrf_token": csrf_token(client, TRACK)}
    )


def stored() -> list[DigitizationRequest]:
    return list(db.session.scalars(select(DigitizationRequest).order_by(DigitizationRequest.id)))


def test_a_search_without_a_hit_offers_the_request_with_the_number_typed(app, client):
    html = client.get("/search?q=zzqxw+khong+co").get_data(as_text=True)
    assert vi(app, "Not found? Ask for your result to be digitized") in html
    assert "Không tìm thấy?" in html
    link = re.search(r'<a href="(/digitization-requests/new\?number=[^"]+)"', html).group(1)
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="zzqxw khong co"' in form  # the number field, prefilled with what was searched


def test_anyone_asks_for_an_old_units_result_and_its_successor_gets_the_case(app, client, merged):
    old, ward = merged
    reference, code = send(client, old, issued_date="14/05/2019")  # typed as printed works too
    [request] = stored()
    assert request.reference == reference and request.state == "received"
    assert request.issuing_unit_id == old.id and request.unit_id == ward.id  # handled by the successor
    assert request.issued_date.isoformat() == "2019-05-14" and request.requester_phone == "0912345678"
    assert code.replace("-", "") not in request.tracking_code_hash and len(request.tracking_code_hash) == 64

    [mail] = mails(app)
    assert mail["To"].addresses[0].addr_spec == REQUESTER["requester_email"]
    assert mail["Subject"] == f"Đã nhận đề nghị số hóa {reference}"
    assert code in body(mail) and reference in body(mail) and ward.name in body(mail)
    # Shown once: the confirmation again sends to the tracking form.
    again = client.get(f"/digitization-requests/received/{reference}")
    assert again.status_code == 303 and again.location.endswith(TRACK)


def test_answers_are_checked_and_nothing_is_stored_with_an_error(app, client, merged):
    response = client.post(
        NEW,
        data=form_data(
            client,
            merged[0],
            doc_number="",
            issued_date="2999-01-01",
            requester_phone="",
            requester_email="",
            issuing_unit_id="x",
        ),
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for message in (
        "Enter the number printed on the result.",
        "The date of issue must be between 1945 and today.",
        "Choose the commune or ward that issued it.",
    ):
        assert vi(app, message) in html
    assert (
        vi(app, "Give a phone number or an e-mail address (or both): the unit needs a way to answer you.")
        in html
    )
    without_token = form_data(client, merged[0])
    del without_token["csrf_token"]
    assert client.post(NEW, data=without_token).status_code == 400
    assert stored() == []


def test_a_logged_in_citizen_finds_the_form_prefilled(client, login_citizen):
    login_citizen(client, "citizen")
    assert 'value="Nguyễn Thị Lan"' in client.get(NEW).get_data(as_text=True)


def test_too_many_requests_from_one_address_are_refused(make_app, merged):
    app = make_app(COVERAGE_REQUEST_RATE_LIMIT="2 per hour")
    with app.app_context():
        client = app.test_client()
        unit = db.session.merge(merged[0])
        codes = [client.post(NEW, data=form_data(client, unit)).status_code for _ in range(3)]
        assert codes == [303, 303, 429]
        assert client.get(NEW).status_code == 200  # reading the form is free
        assert len(stored()) == 2


def test_the_requester_follows_it_with_the_code_and_a_wrong_code_tells_nothing(app, client, merged):
    reference, code = send(client, merged[0])
    found = track(client, reference, code.lower().replace("-", " "))
    assert found.status_code == 200
    assert vi(app, "Received, waiting for the unit") in found.get_data(as_text=True)
    assert found.headers["Cache-Control"] == "private, no-store"
    wrong, unknown = track(client, reference, "AAAAA-AAAAA"), track(client, "SH-2020-999999", code)
    assert wrong.status_code == unknown.status_code == 400
    message = vi(
        app,
        "We found no request with this reference number and tracking code. Please check both and try again.",
    )
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert "123/GPXD" not in wrong.get_data(as_text=True)


def test_tracking_is_capped_per_address_and_a_stranger_cannot_lock_the_requester_out(make_app, merged):
    app = make_app(COVERAGE_TRACK_RATE_LIMIT="3 per 15 minutes")
    with app.app_context():
        requester = app.test_client()
        reference, code = send(requester, db.session.merge(merged[0]))
        stranger = app.test_client()
        stranger.environ_base["REMOTE_ADDR"] = "203.0.113.9"  # noqa: E702
        assert [track(stranger, reference, "AAAAA-AAAAA").status_code for _ in range(4)] == [
            400,
            400,
            400,
            429,
        ]
        assert track(requester, reference, code).status_code == 200  # another address: not locked out


@pytest.fixture
def clerk_of(app, make_staff, login_staff):
    def build(unit, role: str = "clerk"):
        staff = make_staff(role=role, units=[unit])
        client = app.test_client()
        login_staff(client, staff)
        client.staff = staff
        return client

    return build


def staff_post(client, reference: str, action: str, **data):
    return client.post(
        f"{QUEUE}{reference}/{action}", data={"csrf_token": csrf_token(client, f"{QUEUE}{reference}"), **data}
    )


def test_the_units_clerk_takes_it_answers_with_the_digitized_result_and_the_requester_is_told(
    app, client, merged, clerk_of, make_record, db_session
):
    old, ward = merged
    reference, code = send(client, old)
    clerk = clerk_of(ward)
    queue = clerk.get(QUEUE).get_data(as_text=True)
    assert reference in queue and "123/GPXD" in queue

    page = clerk.get(f"{QUEUE}{reference}")
    assert page.status_code == 200 and REQUESTER["requester_phone"].replace(" ", "") in page.get_data(
        as_text=True
    )
    assert page.headers["Cache-Control"] == "no-store"
    assert (
        db_session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "digitization_request.view_contacts",
                AuditEntry.object_ref == f"digitization_request:{reference}",
            )
        )
        is not None
    )

    assert staff_post(clerk, reference, "claim").status_code == 303
    [request] = stored()
    assert request.state == "claimed" and request.claimed_by_id == clerk.staff.id
    colleague = clerk_of(ward)
    refused = staff_post(colleague, reference, "answer", outcome="not_found")
    assert refused.status_code == 303 and stored()[0].state == "claimed"  # taken by someone else
    assert vi(app, "A colleague has taken this request.") in colleague.get(refused.location).get_data(
        as_text=True
    )

    unknown = staff_post(clerk, reference, "answer", outcome="digitized", source_id="HN-NO-SUCH")
    assert unknown.status_code == 400
    assert vi(
        app, "Enter the source id of the digitized result, as it is on the portal."
    ) in unknown.get_data(as_text=True)

    elsewhere = make_record(unit=legacy_unit_with_successor(db_session, partial=True))
    assert elsewhere.issuing_unit_id not in {old.id, ward.id}
    foreign = staff_post(clerk, reference, "answer", outcome="digitized", source_id=elsewhere.source_id)
    assert foreign.status_code == 400 and stored()[0].record_id is None  # another unit's result

    record = make_record(unit=old, doc_number="123", doc_notation="GPXD")
    answered = staff_post(
        clerk,
        reference,
        "answer",
        outcome="digitized",
        source_id=record.source_id,
        text="Đã tìm thấy trong kho lưu trữ và số hóa.",
    )
    assert answered.status_code == 303
    [request] = stored()
    assert request.state == "digitized" and request.record_id == record.id
    [_, mail] = mails(app)
    assert mail["Subject"] == f"Trả lời đề nghị số hóa {reference}"
    assert f"/results/{record.source_id}" in body(mail) and "Đã tìm thấy trong kho" in body(mail)

    status = track(client, reference, code).get_data(as_text=True)
    assert f'href="/results/{record.source_id}"' in status
    assert vi(app, "Digitized: the result is on the portal") in status
    assert staff_post(clerk, reference, "answer", outcome="not_found").status_code == 303
    assert stored()[0].state == "digitized"  # closed: a second answer changes nothing


def test_another_units_clerk_sees_nothing_of_it(app, client, merged, clerk_of, db_session):
    from portal.units.models import AdminUnit

    reference, _ = send(client, merged[0])
    other = db_session.scalar(
        select(AdminUnit)
        .where(AdminUnit.system == "current", AdminUnit.level == "commune", AdminUnit.id != merged[1].id)
        .order_by(AdminUnit.code)
    )
    stranger = clerk_of(other)
    assert reference not in stranger.get(QUEUE).get_data(as_text=True)
    assert stranger.get(f"{QUEUE}{reference}").status_code == 404
    forged = stranger.post(f"{QUEUE}{reference}/claim", data={"csrf_token": csrf_token(stranger, "/staff/")})
    assert forged.status_code == 404
    assert stored()[0].state == "received"
    assert client.get(QUEUE).status_code == 302  # anonymous: to the staff login


def test_not_ours_and_not_found_tell_the_requester_why(app, client, merged, clerk_of):
    reference, code = send(client, merged[0])
    clerk = clerk_of(merged[1])
    assert (
        staff_post(
            clerk, reference, "answer", outcome="not_ours", text="Số này do phường khác cấp."
        ).status_code
        == 303
    )
    assert "không do đơn vị này cấp" in body(mails(app)[-1])
    status = track(client, reference, code).get_data(as_text=True)
    assert vi(app, "Not issued by this unit") in status and "Số này do phường khác cấp." in status
