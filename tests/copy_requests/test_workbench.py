"""The one-stop-shop workbench at /staff/copy-requests, driven through the pages as a clerk would:
logged in through the real password + TOTP pages, CSRF tokens read from the forms.

Pages are read in English (the `lang` cookie) so that assertions do not depend on the catalog;
tests/web/test_web_catalog.py checks that every string has its Vietnamese translation.
"""

from __future__ import annotations

import itertools
import re
import threading
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit import AuditEntry
from portal.copy_requests import events, processing
from portal.copy_requests.models import CopyRequest, CopyRequestEvent, IssuedCopy
from portal.copy_requests.workflow import Action, State
from portal.db import utcnow
from portal.extensions import db
from portal.files.store import FileStore
from portal.identity.models import Citizen, StaffUser
from portal.units.models import AdminUnit
from tests.at_once import run_at_once
from tests.conftest import csrf_token
from tests.web.conftest import legacy_unit_with_successor

QUEUE = "/staff/copy-requests/"


@pytest.fixture
def old_unit(db_session) -> AdminUnit:
    """A pre-2025 commune merged whole into one current ward."""
    return legacy_unit_with_successor(db_session, partial=False)


@pytest.fixture
def ward(old_unit) -> AdminUnit:
    return old_unit.successor_links[0].new_unit


@pytest.fixture
def other_ward(db_session, ward) -> AdminUnit:
    return db_session.scalars(select(AdminUnit).where(
        AdminUnit.system == "current", AdminUnit.level == "commune", AdminUnit.id != ward.id)
        .order_by(AdminUnit.code)).first()


@pytest.fixture
def record(make_record, old_unit):
    """A personal result of the old commune, with a 2-page PDF and a JPEG."""
    return make_record(unit=old_unit, files=True, access="personal", holder="Lê Thị Hồng",
                       id_number="001190012345")


@pytest.fixture
def new_request(db_session, ward):
    """new_request(record, state=, kind=, due_in=, assigned_to=, unit=) → a committed CopyRequest,
    walked to ``state`` through events.transition as the requester and a clerk would."""
    numbers = itertools.count(1)

    def build(record, *, state: str = State.SUBMITTED, kind: str = "electronic",
              due_in: timedelta = timedelta(days=1), assigned_to=None, unit: AdminUnit | None = None,
              requester: Citizen | None = None, address: str = "") -> CopyRequest:
        n = next(numbers)
        requester = requester or Citizen(issuer="https://sso.example.vn", sub=f"req-{n}",
                                         name=f"Phạm Văn Minh {n}", loa=2)
        now = utcnow()
        request = CopyRequest(reference=f"BS-2026-{900000 + n}", record=record, requester=requester,
                              unit_id=(unit or ward).id, kind=kind, copies=1, purpose="Bổ sung hồ sơ vay vốn",
                              email=f"minh{n}@example.vn", delivery_address=address or
                              ("12 Trần Thái Tông, Cầu Giấy" if kind == "paper_post" else ""),
                              pages=3, fee_vnd=0, submitted_at=now - timedelta(hours=2), due_at=now + due_in)
        db_session.add(request)
        db_session.flush()
        events.record_submitted(db_session, request, requester.audit_name)
        if state == State.CANCELLED:
            events.transition(db_session, request, Action.CANCEL, requester.audit_name)
        elif state == State.REJECTED:
            events.transition(db_session, request, Action.REJECT, "staff:0", note="test")
        elif state != State.SUBMITTED:
            assert assigned_to is not None, "a request past 'submitted' has an assignee"
            request.assigned_to = assigned_to
            events.transition(db_session, request, Action.ASSIGN, assigned_to.audit_name)
            if state in (State.ISSUED, State.DELIVERED):
                events.transition(db_session, request, Action.ISSUE, assigned_to.audit_name)
            if state == State.DELIVERED:
                events.transition(db_session, request, Action.DELIVER, assigned_to.audit_name)
        if assigned_to is not None and state == State.SUBMITTED:
            request.assigned_to = assigned_to  # only to build odd cases; the pages never do this
        db_session.commit()
        return request

    return build


@pytest.fixture
def clerk(make_staff, ward):
    return make_staff(role="clerk", units=[ward], full_name="Nguyễn Văn An")


@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")
    return client


@pytest.fixture
def clerk_client(english, login_staff, clerk):
    login_staff(english, clerk)
    return english


def other_client(app, login_staff, staff):
    client = app.test_client()
    client.set_cookie("lang", "en")
    login_staff(client, staff)
    return client


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def post(client, reference: str, action: str, data: dict | None = None, *, seen_state: str | None = None):
    """Press a button on the request's page: the token and the state the page showed come from it."""
    html = page(client, f"{QUEUE}{reference}")
    shown = re.search(r'name="seen_state"[^>]*value="([^"]+)"', html)
    seen = seen_state or (shown.group(1) if shown else "")
    return client.post(f"{QUEUE}{reference}/{action}",
                       data={"csrf_token": csrf_token(client, f"{QUEUE}{reference}"), "seen_state": seen,
                             **(data or {})})


def flashed(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return page(client, response.location)


def fresh(request: CopyRequest) -> CopyRequest:
    db.session.expire_all()
    return db.session.get(CopyRequest, request.id)


def tab_count(html: str, tab: str) -> int:
    match = re.search(rf'data-tab="{tab}">([\d.,]+)<', html)
    assert match, tab
    return int(re.sub(r"\D", "", match.group(1)))


def references(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/staff/copy-requests/(BS-[\d-]+)"', html)


# -- who gets in ---------------------------------------------------------------------------------


def test_queue_lists_requests_of_the_clerks_ward_including_results_of_old_units_merged_into_it(
        clerk_client, new_request, record, make_record, other_ward, old_unit, ward):
    mine = new_request(record)
    assert record.issuing_unit_id == old_unit.id and mine.unit_id == ward.id
    elsewhere = new_request(make_record(), unit=other_ward)
    html = page(clerk_client, QUEUE)
    assert references(html) == [mine.reference]
    assert elsewhere.reference not in html
    assert record.doc_type_name in html and mine.requester.name in html


def test_a_clerk_of_another_unit_can_neither_open_nor_act(app, new_request, record, make_staff, other_ward,
                                                          login_staff, clerk_client):
    request = new_request(record)
    outsider = other_client(app, login_staff, make_staff(role="clerk", units=[other_ward]))
    assert request.reference not in page(outsider, QUEUE)
    assert outsider.get(f"{QUEUE}{request.reference}").status_code == 404
    token = csrf_token(outsider, QUEUE)
    for action in ("assign", "issue", "reject", "deliver"):
        response = outsider.post(f"{QUEUE}{request.reference}/{action}",
                                 data={"csrf_token": token, "seen_state": "submitted", "reason": "duplicate"})
        assert response.status_code == 404, action
    assert fresh(request).state == State.SUBMITTED and fresh(request).assigned_to_id is None
    # No look at the result was logged for the refused clerk.
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "record.view")) == 0


def test_service_refuses_staff_of_another_unit_with_forbidden(db_session, new_request, record, make_staff,
                                                              other_ward):
    request = new_request(record)
    outsider = make_staff(role="clerk", units=[other_ward])
    with pytest.raises(processing.Forbidden):
        processing.assign(db_session, outsider, request)
    with pytest.raises(processing.Forbidden):
        processing.reject(db_session, outsider, request, "duplicate")
    with pytest.raises(processing.NotFound):
        processing.get_for_staff(db_session, outsider, request.reference)


def test_anonymous_visitors_are_sent_to_login_and_admins_are_refused(app, client, make_staff, ward,
                                                                     login_staff):
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/staff/login" in response.location
    admin = other_client(app, login_staff, make_staff(role="admin", units=[ward]))
    assert admin.get(QUEUE).status_code == 403


# -- the queue -----------------------------------------------------------------------------------


def test_counts_per_state_and_filters(clerk_client, new_request, record, clerk, make_staff, ward):
    colleague = make_staff(role="clerk", units=[ward])
    unassigned = new_request(record)
    post_paper = new_request(record, kind="paper_post")
    mine = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    theirs = new_request(record, state=State.IN_PROGRESS, assigned_to=colleague)
    issued = new_request(record, state=State.ISSUED, assigned_to=clerk, kind="paper_desk")
    rejected = new_request(record, state=State.REJECTED)
    cancelled = new_request(record, state=State.CANCELLED, kind="paper_desk")

    html = page(clerk_client, QUEUE)
    counts = {tab: tab_count(html, tab) for tab in processing.QUEUE_TABS}
    assert counts == {"open": 4, "submitted": 2, "in_progress": 2, "issued": 1, "delivered": 0,
                      "rejected": 1, "cancelled": 1, "all": 7}
    assert set(references(html)) == {unassigned.reference, post_paper.reference, mine.reference,
                                      theirs.reference}

    assert references(page(clerk_client, f"{QUEUE}?state=issued")) == [issued.reference]
    assert set(references(page(clerk_client, f"{QUEUE}?state=all"))) == {
        r.reference for r in (unassigned, post_paper, mine, theirs, issued, rejected, cancelled)}
    assert references(page(clerk_client, f"{QUEUE}?assignee=me")) == [mine.reference]
    assert set(references(page(clerk_client, f"{QUEUE}?assignee=unassigned"))) == {
        unassigned.reference, post_paper.reference}
    by_kind = page(clerk_client, f"{QUEUE}?state=all&kind=paper_post")
    assert references(by_kind) == [post_paper.reference]
    assert tab_count(by_kind, "all") == 1 and tab_count(by_kind, "submitted") == 1
    # Nonsense in the query string falls back to the defaults.
    assert set(references(page(clerk_client, f"{QUEUE}?state=nope&kind=x&assignee=y&page=zz"))) == {
        unassigned.reference, post_paper.reference, mine.reference, theirs.reference}


def test_overdue_requests_stand_out_in_words_and_on_the_dashboard(clerk_client, new_request, record, clerk):
    late = new_request(record, due_in=-timedelta(hours=3))
    late_in_progress = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk,
                                   due_in=-timedelta(days=2))
    on_time = new_request(record, due_in=timedelta(days=2))
    # Closed requests are never overdue, however old.
    new_request(record, state=State.REJECTED, due_in=-timedelta(days=5))

    html = page(clerk_client, QUEUE)
    rows = {ref: row for ref, row in re.findall(r'<th scope="row"><a href="/staff/copy-requests/(BS-[\d-]+)"'
                                                 r'(.*?)</tr>', html, re.S)}
    assert ">Overdue</span>" in rows[late.reference] and ">Overdue</span>" in rows[late_in_progress.reference]
    assert "Overdue" not in rows[on_time.reference]
    assert "2 requests are past their due date." in html
    # Most urgent first.
    assert references(html) == [late_in_progress.reference, late.reference, on_time.reference]
    assert references(page(clerk_client, f"{QUEUE}?overdue=y")) == [
        late_in_progress.reference, late.reference]
    dashboard = page(clerk_client, "/staff/")
    assert re.search(r'id="overdue-count"[^>]*>2 requests overdue<', dashboard)
    assert ">Overdue</span>" in page(clerk_client, f"{QUEUE}{late.reference}")


def test_pagination_and_empty_states(clerk_client, new_request, record):
    assert "No copy request has been made for your units yet." in page(clerk_client, QUEUE)
    made = [new_request(record, due_in=timedelta(hours=1 + i)) for i in range(27)]
    first, second = page(clerk_client, QUEUE), page(clerk_client, f"{QUEUE}?page=2")
    assert references(first) == [r.reference for r in made[:25]]
    assert references(second) == [r.reference for r in made[25:]]
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert "Nothing here: no request is in this status." in page(clerk_client, f"{QUEUE}?state=delivered")
    assert "No request matches these filters." in page(clerk_client, f"{QUEUE}?kind=paper_desk")


# -- one request ---------------------------------------------------------------------------------


def test_opening_a_request_shows_everything_and_is_logged_as_a_personal_data_access(
        clerk_client, clerk, new_request, record):
    request = new_request(record)
    html = page(clerk_client, f"{QUEUE}{request.reference}")
    for shown in (request.requester.name, request.email, record.subject.name, "001190012345",
                  record.summary, record.number_display, "Bổ sung hồ sơ vay vốn", "Assign to me"):
        assert shown in html, shown
    assert f"/results/{record.source_id}/files/1/pages/1.png" in html  # the scans
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "record.view")).one()
    assert entry.actor == clerk.audit_name
    assert entry.object_ref == f"record:{record.source_id}"
    assert entry.purpose == f"xử lý yêu cầu bản sao {request.reference}"
    assert entry.subject_id == record.subject_id


def test_unknown_reference_is_404(clerk_client):
    assert clerk_client.get(f"{QUEUE}BS-2026-000000").status_code == 404


def test_assign_to_me_then_a_colleague_cannot_take_it(app, clerk_client, clerk, new_request, record,
                                                      make_staff, ward, login_staff):
    request = new_request(record)
    html = flashed(clerk_client, post(clerk_client, request.reference, "assign"))
    assert f"Request {request.reference} is now assigned to you." in html
    request = fresh(request)
    assert request.state == State.IN_PROGRESS and request.assigned_to_id == clerk.id
    event = request.events[-1]
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        "assign", clerk.audit_name, "submitted", "in_progress")
    assert "Nguyễn Văn An" in html  # in the timeline, with the time
    assert "Issue the copy" in html and "Assign to me" not in html

    colleague = other_client(app, login_staff, make_staff(role="clerk", units=[ward]))
    # A page opened before the assignment: told it was processed, nothing changes.
    response = colleague.post(f"{QUEUE}{request.reference}/assign",
                              data={"csrf_token": csrf_token(colleague, QUEUE), "seen_state": "submitted"})
    assert "This request has already been processed" in flashed(colleague, response)
    # A fresh page: no button, and a forced POST is refused with the reason.
    colleague_page = page(colleague, f"{QUEUE}{request.reference}")
    assert "Assign to me" not in colleague_page and "Issue the copy" not in colleague_page
    assert "Only a supervisor can give a request to someone else." in flashed(
        colleague, post(colleague, request.reference, "assign", seen_state="in_progress"))
    assert "only they or a supervisor" in flashed(
        colleague, post(colleague, request.reference, "reject", {"reason": "duplicate"},
                        seen_state="in_progress"))
    assert fresh(request).assigned_to_id == clerk.id and fresh(request).state == State.IN_PROGRESS


def test_a_supervisor_reassigns(app, new_request, record, clerk, make_staff, ward, login_staff):
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    colleague = make_staff(role="clerk", units=[ward], full_name="Trần Thị Bích")
    supervisor = other_client(app, login_staff, make_staff(role="supervisor", units=[ward]))
    html = page(supervisor, f"{QUEUE}{request.reference}")
    assert "Reassign" in html and "Trần Thị Bích" in html
    response = post(supervisor, request.reference, "assign", {"assignee": str(colleague.id)})
    assert "now assigned to Trần Thị Bích" in flashed(supervisor, response)
    request = fresh(request)
    assert request.assigned_to_id == colleague.id and request.state == State.IN_PROGRESS
    assert request.events[-1].note == "Trần Thị Bích"
    # Someone who does not serve the unit cannot be chosen.
    stranger = make_staff(role="clerk", units=[])
    response = post(supervisor, request.reference, "assign", {"assignee": str(stranger.id)})
    assert "Choose someone who serves this unit." in flashed(supervisor, response)
    assert fresh(request).assigned_to_id == colleague.id


def test_reject_with_a_reason_from_the_list(clerk_client, clerk, new_request, record):
    request = new_request(record)
    html = flashed(clerk_client, post(clerk_client, request.reference, "reject", {"reason": "duplicate"}))
    assert f"Request {request.reference} was rejected" in html
    assert "Duplicate of another request" in html and "This request is closed." in html
    request = fresh(request)
    assert (request.state, request.reject_reason, request.reject_note) == ("rejected", "duplicate", "")
    assert request.closed_at is not None
    assert (request.events[-1].action, request.events[-1].actor) == ("reject", clerk.audit_name)


def test_reject_other_needs_an_explanation(clerk_client, new_request, record):
    request = new_request(record)
    response = post(clerk_client, request.reference, "reject", {"reason": "other", "note": "   "})
    assert response.status_code == 400
    assert "Explain the reason: the requester will read it." in response.get_data(as_text=True)
    assert fresh(request).state == State.SUBMITTED
    response = post(clerk_client, request.reference, "reject", {"reason": ""})
    assert response.status_code == 400 and "Choose a reason." in response.get_data(as_text=True)
    response = post(clerk_client, request.reference, "reject", {"reason": "made-up"})
    assert response.status_code == 400 and fresh(request).state == State.SUBMITTED

    flashed(clerk_client, post(clerk_client, request.reference, "reject",
                               {"reason": "other", "note": "Kết quả đang được đính chính"}))
    request = fresh(request)
    assert (request.state, request.reject_reason, request.reject_note) == (
        "rejected", "other", "Kết quả đang được đính chính")
    assert request.events[-1].note == "Kết quả đang được đính chính"


def test_refused_transitions_are_messages_not_errors(clerk_client, clerk, new_request, record):
    cancelled = new_request(record, state=State.CANCELLED, kind="paper_desk")
    page_html = page(clerk_client, f"{QUEUE}{cancelled.reference}")
    assert "This request is closed." in page_html and "Reject the request" not in page_html
    # Forced POSTs on a request in a state that does not allow them (the page showing that state).
    for action, data in (("assign", {}), ("issue", {}), ("reject", {"reason": "duplicate"}),
                         ("deliver", {"tracking_number": "EV123"})):
        response = post(clerk_client, cancelled.reference, action, data, seen_state="cancelled")
        assert response.status_code == 302, action
        assert "already been processed" in page(clerk_client, response.location), action
    submitted = new_request(record)
    response = post(clerk_client, submitted.reference, "issue", seen_state="submitted")
    assert "already been processed" in flashed(clerk_client, response)
    assert fresh(cancelled).state == State.CANCELLED and fresh(submitted).state == State.SUBMITTED
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 0
    # A request never goes back: no event was added by any of these.
    assert db.session.scalar(select(func.count()).select_from(CopyRequestEvent).where(
        CopyRequestEvent.request_id == cancelled.id)) == 2


def test_paper_copies_are_handed_over_or_posted_with_a_tracking_number(clerk_client, clerk, new_request,
                                                                       record):
    posted = new_request(record, state=State.ISSUED, assigned_to=clerk, kind="paper_post")
    html = page(clerk_client, f"{QUEUE}{posted.reference}")
    assert "Mark as posted" in html and "12 Trần Thái Tông" in html
    response = post(clerk_client, posted.reference, "deliver", {"tracking_number": " "})
    assert response.status_code == 400
    assert "Enter the postal tracking number." in response.get_data(as_text=True)
    assert fresh(posted).state == State.ISSUED
    html = flashed(clerk_client, post(clerk_client, posted.reference, "deliver",
                                      {"tracking_number": "EV 123456789 VN"}))
    assert "tracking number EV 123456789 VN" in html
    posted = fresh(posted)
    assert (posted.state, posted.tracking_number, posted.events[-1].note) == (
        "delivered", "EV 123456789 VN", "EV 123456789 VN")

    desk = new_request(record, state=State.ISSUED, assigned_to=clerk, kind="paper_desk")
    html = flashed(clerk_client, post(clerk_client, desk.reference, "deliver"))
    assert "handed over at the desk" in html and fresh(desk).state == State.DELIVERED

    electronic = new_request(record, state=State.ISSUED, assigned_to=clerk, kind="electronic")
    html = page(clerk_client, f"{QUEUE}{electronic.reference}")
    assert "Handed over at the desk" not in html and "Mark as posted" not in html
    html = flashed(clerk_client, post(clerk_client, electronic.reference, "deliver", seen_state="issued"))
    assert "Electronic copies are delivered when the requester downloads them." in html
    assert fresh(electronic).state == State.ISSUED


# -- issuing -------------------------------------------------------------------------------------


@pytest.fixture
def unit_key(app, ward):
    from portal.copy_requests import devca

    devca.ensure_unit(app.config, ward)


def test_issue_signs_the_copy_once_even_when_pressed_twice(app, clerk_client, clerk, new_request, record,
                                                           unit_key):
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    token = csrf_token(clerk_client, f"{QUEUE}{request.reference}")
    data = {"csrf_token": token, "seen_state": "in_progress"}
    first = clerk_client.post(f"{QUEUE}{request.reference}/issue", data=data)
    second = clerk_client.post(f"{QUEUE}{request.reference}/issue", data=data)  # the double click
    assert first.status_code == second.status_code == 302
    html = page(clerk_client, first.location)  # both messages, in order
    assert html.index("is signed and issued") < html.index("already been processed")
    request = fresh(request)
    assert request.state == State.ISSUED
    copies = db.session.scalars(select(IssuedCopy).where(IssuedCopy.request_id == request.id)).all()
    assert len(copies) == 1
    copy = copies[0]
    assert copy.signer_id == clerk.id and copy.unit_id == request.unit_id
    signed = FileStore.from_config(app.config).path_for(copy.sha256).read_bytes()
    assert signed.startswith(b"%PDF") and b"/ByteRange" in signed and len(signed) == copy.size
    assert [e.action for e in request.events] == ["submit", "assign", "issue"]
    assert request.events[-1].actor == clerk.audit_name
    html = page(clerk_client, f"{QUEUE}{request.reference}")
    assert copy.code in html and f"/copies/{copy.code}/download?token=" in html
    assert "The copy is issued" in html


def test_a_stale_second_transaction_cannot_issue_again(app, clerk_client, clerk, new_request, record,
                                                       unit_key, make_staff, ward):
    """Two clerks press "issue" at the same moment: the one whose transaction comes second finds
    the row no longer in the state it read, and nothing is signed for it."""
    supervisor = make_staff(role="supervisor", units=[ward])
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    other = Session(db.engine)
    try:
        stale = other.get(CopyRequest, request.id)
        stale_supervisor = other.get(type(supervisor), supervisor.id)
        assert stale.state == State.IN_PROGRESS
        flashed(clerk_client, post(clerk_client, request.reference, "issue"))
        with pytest.raises(processing.AlreadyProcessed):
            processing.issue(other, stale_supervisor, stale)
        other.rollback()
    finally:
        other.close()
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 1
    assert [e.action for e in fresh(request).events] == ["submit", "assign", "issue"]


def test_issue_without_a_signing_certificate_says_so_and_changes_nothing(clerk_client, clerk, new_request,
                                                                         record):
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    html = flashed(clerk_client, post(clerk_client, request.reference, "issue"))
    assert "no signing certificate" in html
    assert fresh(request).state == State.IN_PROGRESS
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 0


def test_two_staff_issuing_at_the_same_moment_sign_one_copy(app, clerk, new_request, record, unit_key,
                                                             make_staff, ward):
    """The assigned clerk and a supervisor press "issue" together, each in their own transaction."""
    supervisor = make_staff(role="supervisor", units=[ward])
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    start = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def press(staff_id: int) -> None:
        with app.app_context():
            session = Session(db.engine)
            try:
                staff = session.get(StaffUser, staff_id)
                mine = session.get(CopyRequest, request.id)
                start.wait()
                processing.issue(session, staff, mine)
                session.commit()
                outcomes.append("issued")
            except processing.AlreadyProcessed:
                session.rollback()
                outcomes.append("already processed")
            finally:
                session.close()

    run_at_once(*(partial(press, staff.id) for staff in (clerk, supervisor)), timeout=60)
    assert sorted(outcomes) == ["already processed", "issued"]
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 1
    assert [e.action for e in fresh(request).events] == ["submit", "assign", "issue"]


def test_issue_of_a_result_without_scans_says_so(clerk_client, clerk, new_request, make_record, old_unit,
                                                 unit_key):
    request = new_request(make_record(unit=old_unit, files=False), state=State.IN_PROGRESS, assigned_to=clerk)
    assert "This result has no scanned file" in page(clerk_client, f"{QUEUE}{request.reference}")
    html = flashed(clerk_client, post(clerk_client, request.reference, "issue"))
    assert "This result has no scanned file: no copy can be made of it." in html
    assert fresh(request).state == State.IN_PROGRESS
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 0


def test_a_reassignment_between_reading_and_acting_is_caught(db_session, clerk, new_request, record,
                                                             make_staff, ward):
    """A supervisor reassigns while a clerk's stale copy of the request still names the clerk."""
    colleague = make_staff(role="clerk", units=[ward])
    supervisor = make_staff(role="supervisor", units=[ward])
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    other = Session(db.engine)
    try:
        stale = other.get(CopyRequest, request.id)
        processing.assign(db_session, supervisor, request, colleague)
        db_session.commit()
        with pytest.raises(processing.AlreadyProcessed):
            processing.reject(other, other.get(StaffUser, clerk.id), stale, "duplicate")
        other.rollback()
    finally:
        other.close()
    request = fresh(request)
    assert (request.state, request.assigned_to_id) == (State.IN_PROGRESS, colleague.id)
