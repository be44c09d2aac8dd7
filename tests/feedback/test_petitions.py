"""Petitions (phản ánh, kiến nghị), driven through the pages as senders and clerks use them: the
public form with CSRF on, the tracking page, the staff queue and petition page after a real
password + TOTP login, the public list of answers, and the mails the outbox writes.

Pages are read in Vietnamese (the default); `vi()` gives what a page says for a msgid (the English
text until the lead merges this area's translations into the catalog).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.clock import HANOI, load_calendar
from portal.db import utcnow
from portal.extensions import db
from portal.feedback import petition_categories, petition_processing, petitions, reports
from portal.feedback.models import Petition, PetitionEvent
from portal.feedback.petition_forms import DECLINE_GUIDANCE
from portal.units.models import AdminUnit
from tests.conftest import csrf_token

NEW = "/feedback/petitions/new"
TRACK = "/feedback/petitions/track"
QUEUE = "/staff/petitions/"
TITLE = "Phản ánh về việc yêu cầu nộp thêm giấy tờ ngoài quy định"
CONTENT = ("Ngày 3/3/2027, tại bộ phận một cửa phường, cán bộ yêu cầu tôi nộp thêm bản sao sổ hộ khẩu "
           "khi làm thủ tục đăng ký khai sinh, trong khi quy định không yêu cầu giấy tờ này.")
SENDER = {"sender_name": "Trần Thị Hoà", "sender_address": "Số 12 ngõ 34 phố Đội Cấn",
          "sender_phone": "0912 345 678", "sender_email": "hoa.tran@example.vn"}
CATEGORIES_FILE = Path(petition_categories.__file__).parent / "data" / "petition_categories.json"


def vi(app, msgid: str, **values) -> str:
    """What a Vietnamese page says for ``msgid``, HTML-escaped as the page prints it."""
    with app.test_request_context(), force_locale("vi"):
        return str(escape(gettext(msgid, **values)))


def working_days(category: str) -> int:
    """The category's days, read from the data file itself (not through the service)."""
    data = json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))
    return next(c["working_days"] for c in data["categories"] if c["id"] == category)


def mails(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["DATA_DIR"]) / "mail"
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))]


def body(message, subtype: str = "plain") -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def stored() -> list[Petition]:
    return list(db.session.scalars(select(Petition).order_by(Petition.id)))


@pytest.fixture
def units(db_session) -> tuple[AdminUnit, AdminUnit]:
    """Two current wards: A and B."""
    a, b = db_session.scalars(select(AdminUnit).where(AdminUnit.system == "current",
                                                      AdminUnit.level == "commune")
                              .order_by(AdminUnit.code).limit(2))
    return a, b


def form_data(client, **changes) -> dict:
    data = {**SENDER, "about": "application", "unit_id": "", "title": TITLE, "content": CONTENT,
            "csrf_token": csrf_token(client, NEW)}
    data.update(changes)
    return data


def send(client, **changes):
    """Send the form; returns (reference, tracking code) read from the confirmation page."""
    response = client.post(NEW, data=form_data(client, **changes))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    html = client.get(response.location).get_data(as_text=True)
    reference = re.search(r'class="reference">(PA-\d{4}-\d{6})<', html).group(1)
    code = re.search(r'class="tracking-code">([A-Z0-9-]+)<', html).group(1)
    return reference, code


def queue_row(html: str, reference: str):
    """The queue's row of ``reference``: group 1 is its class."""
    return re.search(rf'<tr class="([^"]*)">\s*<th scope="row"><a href="[^"]*">{reference}</a>.*?</tr>',
                     html, re.S)


def track(client, reference: str, code: str):
    return client.post(TRACK, data={"reference": reference, "code": code,
                                    "csrf_token": csrf_token(client, TRACK)})


def new_petition(unit: AdminUnit | None, *, received: datetime | None = None,
                 **changes) -> tuple[Petition, str]:
    """A petition received by the real service at ``received``, committed."""
    data = {**SENDER, "about": "application", "title": TITLE, "content": CONTENT,
            "unit_id": unit.id if unit else None, **changes}
    petition, code = petitions.submit_petition(db.session, None, data, now=received)
    db.session.commit()
    return petition, code


def staff_post(client, reference: str, action: str, **data):
    token = csrf_token(client, f"{QUEUE}{reference}")
    return client.post(f"{QUEUE}{reference}/{action}", data={"csrf_token": token, **data})


@pytest.fixture
def staff_client(app, make_staff, login_staff):
    """staff_client(role, units) → a logged-in test client of a new staff member."""

    def build(role: str = "clerk", units=()):
        staff = make_staff(role=role, units=list(units))
        client = app.test_client()
        login_staff(client, staff)
        client.staff = staff
        return client

    return build


# -- sending --------------------------------------------------------------------------------------


def test_anyone_sends_a_petition_in_vietnamese_and_gets_a_reference_a_code_and_a_mail(app, client, units):
    unit = units[0]
    decomposed = unicodedata.normalize("NFD", CONTENT)  # as some phone keyboards send it
    assert decomposed != CONTENT
    reference, code = send(client, unit_id=str(unit.id), content=decomposed)

    [petition] = stored()
    assert petition.reference == reference
    assert petition.title == TITLE  # exactly as typed
    assert petition.content == CONTENT  # NFC: the same characters as the composed text
    assert petition.sender_name == SENDER["sender_name"]
    assert petition.sender_address == SENDER["sender_address"]
    assert (petition.sender_phone, petition.sender_email) == ("0912345678", "hoa.tran@example.vn")
    assert petition.unit_id == unit.id and petition.state == "received" and petition.citizen_id is None
    assert re.fullmatch(rf"PA-{datetime.now(HANOI).year}-\d{{6}}", reference)
    assert petition.due_at == load_calendar().after_working_days(petition.received_at,
                                                                 working_days("unclassified"))
    assert [e.action for e in petition.events] == ["receive"]
    assert code not in petition.tracking_code_hash and len(petition.tracking_code_hash) == 64

    [mail] = mails(app)
    assert mail["To"].addresses[0].addr_spec == "hoa.tran@example.vn"
    assert mail["Subject"] == f"Đã nhận phản ánh, kiến nghị {reference}"
    for part in (body(mail), body(mail, "html")):
        assert code in part and reference in part and TITLE in part and "Kính gửi Trần Thị Hoà" in part

    # The code is shown once: the confirmation page again sends to the tracking form.
    again = client.get(f"/feedback/petitions/received/{reference}")
    assert again.status_code == 303 and again.location.endswith(TRACK)


def test_a_logged_in_citizen_finds_the_form_prefilled(app, client, login_citizen, units):
    login_citizen(client, "citizen")
    html = client.get(NEW).get_data(as_text=True)
    assert 'value="Nguyễn Thị Lan"' in html
    assert "20/2008/NĐ-CP" in html  # the box saying what a petition is
    send(client, sender_name="Nguyễn Thị Lan", sender_email="")
    [petition] = stored()
    assert petition.citizen_id is not None and petition.sender_email == "" and mails(app) == []


def test_the_form_says_complaints_and_denunciations_go_elsewhere(app, client):
    html = client.get(NEW).get_data(as_text=True)
    assert vi(app, "Complaints and denunciations go elsewhere.") in html
    assert explanation(app) in html


def explanation(app) -> str:
    """The box's sentence naming the two laws."""
    return vi(app, "To contest a decision or an action that affects your rights, send a complaint "
                   "(khiếu nại) to the competent body under the Law on Complaints 2011. To report a "
                   "violation of the law by an official or a body, send a denunciation (tố cáo) under the "
                   "Law on Denunciations 2018. Such messages sent here are not handled as petitions: you "
                   "will be told where to send them.")


def test_contact_details_are_required_and_nothing_is_stored_without_them(app, client):
    response = client.post(NEW, data=form_data(client, sender_phone="", sender_email=""))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert vi(app, "Give a phone number or an e-mail address (or both): the unit needs a way to "
                   "answer you.") in html
    assert TITLE in html  # what was typed is kept in the form

    response = client.post(NEW, data=form_data(client, sender_phone="12345", sender_name="",
                                               content="ngắn quá"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert vi(app, "Enter a Vietnamese phone number, such as 0912 345 678 or +84 912 345 678.") in html
    assert vi(app, "Enter your full name.") in html
    assert vi(app, "Describe your petition in at least 20 characters.") in html
    assert stored() == [] and mails(app) == []


def test_without_the_csrf_token_nothing_is_stored(app, client):
    data = form_data(client)
    del data["csrf_token"]
    response = client.post(NEW, data=data)
    assert response.status_code == 400
    assert stored() == []


def test_too_many_petitions_from_one_address_are_refused_with_429(make_app, units):
    app = make_app(FEEDBACK_PETITION_RATE_LIMIT="2 per hour")
    with app.app_context():
        client = app.test_client()
        codes = [client.post(NEW, data=form_data(client)).status_code for _ in range(3)]
        assert codes == [303, 303, 429]
        refused = client.post(NEW, data=form_data(client))
        assert refused.status_code == 429
        assert vi(app, "You have sent this form too many times in a short while. Nothing of the last attempt "
                       "was kept: please wait a while and try again, or contact the one-stop desk.") \
            in refused.get_data(as_text=True)
        assert client.get(NEW).status_code == 200  # reading the form is free
        assert len(stored()) == 2


# -- tracking -------------------------------------------------------------------------------------


def test_the_sender_follows_the_petition_with_the_code_and_a_wrong_code_is_refused(app, client):
    reference, code = send(client)
    response = track(client, reference, code.lower().replace("-", " "))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert TITLE in html and vi(app, "Received, waiting to be classified") in html
    assert vi(app, "Petition received") in html

    wrong = track(client, reference, "AAAAA-AAAAA")
    unknown = track(client, "PA-2020-999999", code)
    assert wrong.status_code == unknown.status_code == 400
    message = vi(app, "We found no petition with this reference number and tracking code. Please check both "
                      "and try again.")
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert TITLE not in wrong.get_data(as_text=True)


# -- staff: classify, forward, answer late -------------------------------------------------------


def test_a_clerk_classifies_and_forwards_and_the_other_unit_takes_over(app, units, staff_client):
    unit_a, unit_b = units
    # Friday 5 March 2027, 10:00 in Hanoi (no holiday in March): 10 working days later is
    # Friday 19 March (two weekends skipped), at the close of office hours.
    received = datetime(2027, 3, 5, 10, 0, tzinfo=HANOI)
    petition, _ = new_petition(unit_a, received=received)
    assert working_days("desk_conduct") == 10
    clerk_a = staff_client("clerk", [unit_a])
    clerk_b = staff_client("clerk", [unit_b])
    assert clerk_b.get(f"{QUEUE}{petition.reference}").status_code == 404

    response = staff_post(clerk_a, petition.reference, "classify", category="desk_conduct",
                          about="application", note="Thái độ cán bộ tiếp nhận")
    assert response.status_code == 303
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert petition.state == "in_progress" and petition.category == "desk_conduct"
    assert petition.due_at == datetime(2027, 3, 19, 17, 0, tzinfo=HANOI)

    response = staff_post(clerk_a, petition.reference, "forward", unit_id=str(unit_b.id),
                          note="Thuộc thẩm quyền phường B")
    assert response.status_code == 303 and response.location.endswith(QUEUE)  # no longer theirs to open
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert petition.unit_id == unit_b.id
    assert petition.due_at == datetime(2027, 3, 19, 17, 0, tzinfo=HANOI)  # still counted from receipt
    forward = db.session.scalar(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id,
                                                            PetitionEvent.action == "forward"))
    assert (forward.from_unit_id, forward.to_unit_id) == (unit_a.id, unit_b.id)

    assert clerk_a.get(f"{QUEUE}{petition.reference}").status_code == 404
    assert f">{petition.reference}</a>" not in clerk_a.get(f"{QUEUE}?tab=in_progress").get_data(as_text=True)
    page = clerk_b.get(f"{QUEUE}{petition.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"{unit_a.name} → {unit_b.name}" in html
    assert f">{petition.reference}</a>" in clerk_b.get(f"{QUEUE}?tab=in_progress").get_data(as_text=True)
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_ref == f"petition:{petition.reference}")))
    assert {"petition.classify", "petition.forward", "petition.view_contacts"} <= actions


def test_a_petition_answered_past_its_deadline_is_flagged_overdue_then_late(app, units, staff_client):
    unit_a, _ = units
    received = datetime.now(UTC) - timedelta(days=40)
    petition, code = new_petition(unit_a, received=received)
    clerk = staff_client("clerk", [unit_a])
    staff_post(clerk, petition.reference, "classify", category="extra_papers", about="application")
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert petition.due_at == load_calendar().after_working_days(received, working_days("extra_papers"))
    assert petition_categories.is_overdue(petition, datetime.now(UTC))

    overdue = vi(app, "Overdue")
    assert overdue == "Quá hạn"  # already in the catalog (the copy workbench uses it)
    queue = clerk.get(f"{QUEUE}?tab=in_progress").get_data(as_text=True)
    row = queue_row(queue, petition.reference)
    assert row and row.group(1) == "petition-row--overdue" and overdue in row.group(0)
    assert 'data-tab="overdue">1<' in queue
    detail = clerk.get(f"{QUEUE}{petition.reference}").get_data(as_text=True)
    assert "petition-overdue" in detail and overdue in detail

    answer = "Phường đã chấn chỉnh việc yêu cầu giấy tờ ngoài quy định và xin lỗi ông/bà."
    assert staff_post(clerk, petition.reference, "answer", text=answer).status_code == 303
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert petition.state == "answered" and petition.answer == answer
    assert petition.answered_by_id == clerk.staff.id
    assert petition_categories.answered_late(petition) and not petition_categories.is_overdue(petition)
    assert not petition.published

    late = vi(app, "Answered late")
    answered = clerk.get(f"{QUEUE}?tab=answered").get_data(as_text=True)
    row = queue_row(answered, petition.reference)
    assert row and row.group(1) == "petition-row--late" and late in row.group(0)
    detail = clerk.get(f"{QUEUE}{petition.reference}").get_data(as_text=True)
    assert "petition-late" in detail and late in detail

    answered_mail = mails(app)[-1]
    assert answered_mail["Subject"] == f"Trả lời phản ánh, kiến nghị {petition.reference}"
    assert answer in body(answered_mail)
    status = track(app.test_client(), petition.reference, code).get_data(as_text=True)
    assert answer in status and vi(app, "Answered after the deadline") in status


def test_a_published_answer_is_on_the_public_list_without_the_senders_details(app, client, units,
                                                                              staff_client):
    unit_a, _ = units
    petition, _ = new_petition(unit_a)
    clerk = staff_client("clerk", [unit_a])
    empty = client.get("/feedback/answers")
    assert empty.status_code == 200
    assert vi(app, "No answer has been published yet.") in empty.get_data(as_text=True)

    staff_post(clerk, petition.reference, "classify", category="extra_papers", about="application")
    staff_post(clerk, petition.reference, "answer", text="Phường đã hướng dẫn lại quy trình tiếp nhận hồ sơ.",
               publish="y")
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert petition.published and petition.published_at is not None

    listing = client.get("/feedback/answers").get_data(as_text=True)
    detail = client.get(f"/feedback/answers/{petition.reference}")
    assert detail.status_code == 200
    for html in (listing, detail.get_data(as_text=True)):
        assert TITLE in html
        for private in ("Trần Thị Hoà", "0912345678", "0912 345 678", "hoa.tran@example.vn", "Đội Cấn"):
            assert private not in html
    assert "Phường đã hướng dẫn lại quy trình" in detail.get_data(as_text=True)

    # Words match without tone marks or case; other words find nothing.
    assert TITLE in client.get("/feedback/answers?q=GIAY+TO+ngoai").get_data(as_text=True)
    nothing = client.get("/feedback/answers?q=xây+dựng").get_data(as_text=True)
    assert TITLE not in nothing and vi(app, "No published answer matches these words.") in nothing

    staff_post(clerk, petition.reference, "unpublish")
    assert client.get(f"/feedback/answers/{petition.reference}").status_code == 404
    assert TITLE not in client.get("/feedback/answers").get_data(as_text=True)


def test_a_complaint_is_declined_and_the_sender_reads_where_to_send_it(app, units, staff_client):
    unit_a, _ = units
    petition, code = new_petition(unit_a, title="Khiếu nại quyết định xử phạt",
                                  content="Tôi không đồng ý với quyết định xử phạt hành chính số 12/QĐ-XPHC.")
    clerk = staff_client("clerk", [unit_a])
    response = staff_post(clerk, petition.reference, "decline", reason="complaint",
                          note="Xin gửi đơn đến Chủ tịch UBND phường.")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).state == "declined"

    html = track(app.test_client(), petition.reference, code).get_data(as_text=True)
    with app.test_request_context(), force_locale("vi"):
        guidance = str(escape(DECLINE_GUIDANCE["complaint"]))
    assert "Law on Complaints 2011" in guidance or "Luật Khiếu nại năm 2011" in guidance
    assert guidance in html and "Xin gửi đơn đến Chủ tịch UBND phường." in html
    declined = mails(app)[-1]
    text = body(declined)
    assert "Luật Khiếu nại năm 2011" in text and "Xin gửi đơn đến Chủ tịch UBND phường." in text
    # A declined petition cannot be answered or published afterwards.
    assert staff_post(clerk, petition.reference, "answer", text="Trả lời").status_code == 303
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).state == "declined"


def test_petitions_to_the_city_are_sorted_by_supervisors(app, units, staff_client):
    unit_a, _ = units
    petition, _ = new_petition(None)
    clerk = staff_client("clerk", [unit_a])
    supervisor = staff_client("supervisor", [unit_a])
    assert clerk.get(f"{QUEUE}{petition.reference}").status_code == 404
    assert petition.reference in supervisor.get(QUEUE).get_data(as_text=True)
    staff_post(supervisor, petition.reference, "forward", unit_id=str(unit_a.id))
    assert clerk.get(f"{QUEUE}{petition.reference}").status_code == 200


def test_staff_actions_need_the_csrf_token(app, units, staff_client):
    unit_a, _ = units
    petition, _ = new_petition(unit_a)
    clerk = staff_client("clerk", [unit_a])
    response = clerk.post(f"{QUEUE}{petition.reference}/classify",
                          data={"category": "extra_papers", "about": "application"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).state == "received"


def test_classifying_without_a_category_shows_the_error_on_the_form(app, units, staff_client):
    unit_a, _ = units
    petition, _ = new_petition(unit_a)
    clerk = staff_client("clerk", [unit_a])
    response = staff_post(clerk, petition.reference, "classify", category="", about="rules")
    assert response.status_code == 400
    assert vi(app, "Choose a category.") in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).state == "received"


def test_an_anonymous_visitor_is_sent_to_the_staff_login(client):
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/staff/login" in response.location


# -- configuration --------------------------------------------------------------------------------


def test_categories_are_validated_when_loaded(tmp_path, make_app):
    good = json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))
    assert petition_categories.parse_categories(good).days_for("rule_content") == working_days("rule_content")
    for broken in ({**good, "default": "nope"},
                   {**good, "categories": good["categories"] + [good["categories"][0]]},
                   {**good, "categories": [{**good["categories"][0], "working_days": 0}]}):
        with pytest.raises(ValueError):
            petition_categories.parse_categories(broken)
    own = tmp_path / "categories.json"
    own.write_text(json.dumps({"default": "general", "categories": [
        {"id": "general", "vi": "Chung", "en": "General", "working_days": 3}]}), encoding="utf-8")
    app = make_app(FEEDBACK_PETITION_CATEGORIES_FILE=str(own))
    assert petition_categories.categories_from_config(app.config).default_category.working_days == 3


def test_counts_of_the_queue_match_the_petitions(app, units, staff_client):
    unit_a, unit_b = units
    for _ in range(3):
        new_petition(unit_a)
    new_petition(unit_b)
    new_petition(unit_a, received=datetime.now(UTC) - timedelta(days=30))  # overdue already
    clerk = staff_client("clerk", [unit_a])
    queue = petition_processing.list_petitions(db.session, clerk.staff, tab="received")
    expected = db.session.scalar(select(func.count()).select_from(Petition)
                                 .where(Petition.unit_id == unit_a.id))
    assert queue.counts["received"] == queue.total == expected == 4
    assert queue.counts["overdue"] == 1
    assert [r.petition.unit_id for r in queue.rows] == [unit_a.id] * 4
    assert queue.rows[0].overdue  # the earliest deadline first


def test_the_pages_read_in_english_and_odd_query_strings_are_no_error(app, client, units, staff_client):
    client.set_cookie("lang", "en")
    assert "What is a petition?" in client.get(NEW).get_data(as_text=True)
    assert "Follow a petition" in client.get(TRACK).get_data(as_text=True)
    assert client.get("/feedback/answers?page=abc&q=" + "x" * 500).status_code == 200
    assert client.get("/feedback/answers/PA-2026-000001").status_code == 404
    petition, _ = new_petition(units[0])
    clerk = staff_client("clerk", [units[0]])
    clerk.set_cookie("lang", "en")
    assert f">{petition.reference}</a>" in clerk.get(f"{QUEUE}?tab=nope&page=99").get_data(as_text=True)
    page = clerk.get(f"{QUEUE}{petition.reference}").get_data(as_text=True)
    assert "Classify" in page and "Forward to another unit" in page and "Not a petition" in page


def test_the_dashboard_says_what_waits_in_the_feedback_queues(app, units, staff_client, make_record,
                                                              db_session):
    a, b = units
    new_petition(a)
    new_petition(a, received=utcnow() - timedelta(days=40))  # long past its 10 working days
    new_petition(b)  # another ward's: not counted for A's clerk
    record = make_record(unit=a)
    reports.submit_report(db_session, None, record.source_id, "wrong_date",
                          "Ngày cấp ghi sai: đúng là ngày 14/05/2019.",
                          reporter_name="Lê Văn Hùng", reporter_email="hung@example.vn")
    db_session.commit()

    clerk = staff_client("clerk", [a])
    dashboard = clerk.get("/staff/").get_data(as_text=True)
    assert re.search(r'id="new-petitions-count"[^>]*>2 chờ phân loại<', dashboard)
    assert re.search(r'id="overdue-petitions-count"[^>]*>1 phản ánh, kiến nghị quá hạn<', dashboard)
    assert re.search(r'id="open-reports-count"[^>]*>1 báo lỗi đang chờ xử lý<', dashboard)

    other = staff_client("clerk", [b])
    quiet = other.get("/staff/").get_data(as_text=True)
    assert re.search(r'id="new-petitions-count"[^>]*>1 chờ phân loại<', quiet)
    assert "overdue-petitions-count" not in quiet and "open-reports-count" not in quiet
