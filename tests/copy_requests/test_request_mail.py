"""E-mail to requesters, from the outbox, received by a real SMTP server (aiosmtpd) started here."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal import clock, outbox
from portal import mail_outbox as tasks
from portal.copy_requests import events, signing
from portal.copy_requests.models import CopyRequestEvent
from portal.copy_requests.notifications import TOPIC
from portal.copy_requests.processing import REJECT_REASONS
from portal.copy_requests.workflow import Action
from portal.extensions import db
from tests.at_once import run_at_once

#: Wednesday 10 February 2027 09:00 in Hanoi, a few days after Tết.
SUBMITTED = datetime(2027, 2, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_server.config(PUBLIC_BASE_URL="https://ketqua.hanoi.gov.vn"))
    with app.app_context():
        yield app


def body(message: EmailMessage, subtype: str = "plain") -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def waiting() -> int:
    return outbox.pending(db.session, [TOPIC])


def act(request, action: Action, note: str = "", **changes) -> None:
    """A clerk's state change as the workbench makes it: one transition, commit, nudge."""
    for name, value in changes.items():
        setattr(request, name, value)
    events.transition(db.session, request, action, "staff:1", note=note)
    db.session.commit()
    tasks.nudge()


def test_a_new_request_mails_its_reference_due_date_fee_and_tracking_code(make_request, smtp_server):
    request, code = make_request(kind="certified", email="lan@example.vn", now=SUBMITTED)
    tasks.nudge()

    [received] = smtp_server.received
    message = received.message
    assert received.envelope_to == ["lan@example.vn"]
    assert message["Subject"] == f"Đã nhận yêu cầu cấp bản sao {request.reference}"
    assert message["From"].addresses[0].display_name == "Cổng kết quả TTHC Hà Nội"
    assert message["To"].addresses[0].addr_spec == "lan@example.vn"
    assert message["Auto-Submitted"] == "auto-generated"
    due = request.due_at.astimezone(clock.HANOI).strftime("%H:%M ngày %d/%m/%Y")
    fee = f"{request.fee_vnd:,}".replace(",", ".") + " đồng"
    for part in (body(message), body(message, "html")):
        assert request.reference in part
        assert f"Hạn trả kết quả: {due}" in part or f"Hạn trả kết quả: <strong>{due}" in part
        assert fee in part
        assert code in part
        assert "https://ketqua.hanoi.gov.vn/copy-requests/track" in part
        assert "Kính gửi Nguyễn Văn Nam" in part
        assert "Bản sao điện tử có chứng thực" in part
    # What the holder's result is about never travels by e-mail.
    assert request.record.subject.id_number not in message.as_string()
    assert waiting() == 0


def test_each_state_change_sends_its_mail(app, make_request, smtp_server):
    posted, _ = make_request(kind="paper_post", email="lan@example.vn")
    act(posted, Action.ASSIGN)
    act(posted, Action.ASSIGN, note="chuyển cho cán bộ khác")  # a reassignment: nothing to tell
    act(posted, Action.ISSUE)
    act(posted, Action.DELIVER, tracking_number="EB123456789VN")
    rejected, _ = make_request(email="hoa@example.vn")
    with app.test_request_context("/?lang=en"):  # a clerk working in English: the mail stays Vietnamese
        act(rejected, Action.REJECT, note="Bản quét trang 2 bị mờ, đề nghị bổ sung.",
            reject_reason="illegible", reject_note="Bản quét trang 2 bị mờ, đề nghị bổ sung.")
    cancelled, _ = make_request(email="minh@example.vn")
    act(cancelled, Action.CANCEL)

    ref = posted.reference
    assert [m["Subject"] for m in smtp_server.messages] == [
        f"Đã nhận yêu cầu cấp bản sao {ref}",
        f"Yêu cầu {ref} đang được xử lý",
        f"Bản sao theo yêu cầu {ref} đã được cấp",
        f"Bản sao theo yêu cầu {ref} đã được gửi qua bưu chính",
        f"Đã nhận yêu cầu cấp bản sao {rejected.reference}",
        f"Yêu cầu {rejected.reference} không được chấp nhận",
        f"Đã nhận yêu cầu cấp bản sao {cancelled.reference}",
        f"Yêu cầu {cancelled.reference} đã được hủy",
    ]
    by_subject = {m["Subject"]: m for m in smtp_server.messages}
    assert "gửi qua bưu chính công ích" in body(by_subject[f"Bản sao theo yêu cầu {ref} đã được cấp"])
    delivered = body(by_subject[f"Bản sao theo yêu cầu {ref} đã được gửi qua bưu chính"])
    assert "Số hiệu bưu gửi: EB123456789VN" in delivered
    refusal = body(by_subject[f"Yêu cầu {rejected.reference} không được chấp nhận"])
    with force_locale("vi"):
        reason = str(REJECT_REASONS["illegible"])
    assert f"Lý do: {reason}" in refusal
    assert "Ghi chú của cán bộ: Bản quét trang 2 bị mờ, đề nghị bổ sung." in refusal
    assert "hoa@example.vn" in smtp_server.received[5].envelope_to
    assert "đã được hủy theo đề nghị của ông/bà" in body(smtp_server.messages[-1])
    assert waiting() == 0


def test_the_issued_mail_of_an_electronic_copy_links_to_its_download(issuable, issue, smtp_server, client):
    request, clerk = issuable(kind="electronic")
    request.email = "lan@example.vn"
    db.session.commit()
    copy = issue(request, clerk, now=datetime.now(UTC))
    tasks.nudge()

    [message] = smtp_server.messages
    assert message["Subject"] == f"Bản sao theo yêu cầu {request.reference} đã được cấp"
    text = body(message)
    link = next(word for word in text.split() if "/download?token=" in word)
    parts = urlsplit(link)
    assert parts.netloc == "ketqua.hanoi.gov.vn" and parts.path == f"/copies/{copy.code}/download"
    assert signing.check_download_token(parse_qs(parts.query)["token"][0], copy.code)
    assert f"https://ketqua.hanoi.gov.vn/verify/{copy.code}" in text
    assert "Đường dẫn này dùng được đến" in text
    # The same link opens the signed PDF (the server is the portal, whatever the host in the mail).
    with client.get(f"{parts.path}?{parts.query}") as response:
        assert response.status_code == 200 and response.data.startswith(b"%PDF")

    # Its delivery is the requester's own download: no mail about that.
    events.transition(db.session, request, Action.DELIVER, "system")
    db.session.commit()
    tasks.nudge()
    assert len(smtp_server.messages) == 1
    assert waiting() == 0


def test_smtp_down_loses_nothing_and_sends_exactly_once_when_back(make_request, smtp_server, caplog):
    smtp_server.stop()
    request, code = make_request(email="lan@example.vn")
    with caplog.at_level(logging.WARNING, logger="portal.mail_outbox"):
        tasks.nudge()  # the request that committed must not fail
    report = tasks.drain_mail(db.session)
    assert report.unavailable and report.sent == 0 and report.waiting == 1
    assert "mail server unavailable, 1 e-mail(s) wait" in caplog.text
    [row] = db.session.scalars(select(outbox.OutboxItem).where(outbox.OutboxItem.topic == TOPIC)).all()
    assert row.payload == {"tracking_code": code}  # no attempt counted against it for an outage

    smtp_server.start()
    assert tasks.drain_mail(db.session).sent == 1
    assert tasks.drain_mail(db.session).sent == 0
    tasks.nudge()
    [message] = smtp_server.messages
    assert code in body(message)
    assert waiting() == 0


def test_a_refused_address_does_not_hold_up_the_others(make_request, smtp_server, caplog):
    smtp_server.refuse("nobody@example.vn", "550 5.1.1 No such user")
    smtp_server.refuse("busy@example.vn", "451 4.3.0 Try again later")
    make_request(email="nobody@example.vn")
    busy, _ = make_request(email="busy@example.vn")
    fine, _ = make_request(email="lan@example.vn")
    now = datetime.now(UTC)

    with caplog.at_level(logging.WARNING, logger="portal.mail_outbox"):
        report = tasks.drain_mail(db.session, now=now)
    assert (report.sent, report.dropped, report.deferred, report.waiting) == (1, 1, 1, 1)
    assert [r.envelope_to for r in smtp_server.received] == [["lan@example.vn"]]
    assert "given up: the server refused it (550 5.1.1 No such user)" in caplog.text
    [row] = db.session.scalars(select(outbox.OutboxItem).where(outbox.OutboxItem.topic == TOPIC)).all()
    assert row.payload["attempts"] == 1 and "451" in row.payload["last_error"]

    # Not before its retry time, even if drains run meanwhile; then it goes through.
    assert tasks.drain_mail(db.session, now=now + timedelta(seconds=30)).deferred == 1
    assert len(smtp_server.received) == 1
    smtp_server.refusals.clear()
    assert tasks.drain_mail(db.session, now=now + timedelta(minutes=1, seconds=1)).sent == 1
    assert [r.envelope_to for r in smtp_server.received][-1] == ["busy@example.vn"]
    assert busy.reference in smtp_server.messages[-1]["Subject"]
    assert fine.reference in smtp_server.messages[0]["Subject"]
    assert waiting() == 0


def test_a_mail_refused_for_now_is_given_up_after_the_last_attempt(app, smtp_server, make_request, caplog):
    smtp_server.refuse("busy@example.vn", "452 4.2.2 Mailbox full")
    make_request(email="busy@example.vn")
    now = datetime.now(UTC)
    limit = app.config["MAIL_MAX_ATTEMPTS"]
    with caplog.at_level(logging.WARNING, logger="portal.mail_outbox"):
        for attempt in range(limit):
            report = tasks.drain_mail(db.session, now=now + timedelta(minutes=2 ** attempt))
    assert report.dropped == 1 and report.waiting == 0
    assert f"given up after {limit} attempts: 452 4.2.2 Mailbox full" in caplog.text
    assert smtp_server.received == []


def test_two_drains_at_once_send_each_mail_once(app, make_request, smtp_server):
    for n in range(3):
        make_request(email=f"person{n}@example.vn")
    smtp_server.delay = 0.3  # both drains read the rows before either has sent
    results: list = []

    def drain() -> None:
        with app.app_context():
            try:
                results.append(tasks.drain_mail(db.session))
            finally:
                db.session.remove()

    run_at_once(drain, drain, timeout=60)
    assert sorted(r.envelope_to[0] for r in smtp_server.received) == [
        "person0@example.vn", "person1@example.vn", "person2@example.vn"]
    assert sum(r.sent for r in results) == 3
    assert waiting() == 0


def test_flask_mail_drain(app, make_request, smtp_server):
    runner = app.test_cli_runner()
    smtp_server.stop()
    make_request(email="lan@example.vn")
    result = runner.invoke(args=["mail", "drain"])
    assert result.exit_code == 1
    assert "còn chờ / waiting 1" in result.output and "mail server unavailable" in result.output
    smtp_server.start()
    result = runner.invoke(args=["mail", "drain"])
    assert result.exit_code == 0, result.output
    assert "đã gửi / sent 1" in result.output
    assert len(smtp_server.messages) == 1


def test_suppressed_mail_is_written_to_the_data_folder(make_app, make_request, tmp_path):
    suppressed = make_app(DATA_DIR=str(tmp_path / "quiet"))  # TESTING: MAIL_SUPPRESS defaults on
    with suppressed.app_context():
        assert suppressed.config["MAIL_SUPPRESS"] is True
        request, code = make_request(email="lan@example.vn")
        tasks.nudge()
        [eml] = (Path(suppressed.config["DATA_DIR"]) / "mail").glob("*.eml")
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(eml.read_bytes(), policy=default)
        assert message["Subject"] == f"Đã nhận yêu cầu cấp bản sao {request.reference}"
        assert code in body(message)
        assert outbox.pending(db.session, [TOPIC]) == 0


def test_message_id_is_the_same_for_the_same_event(make_request, smtp_server):
    request, _ = make_request(email="lan@example.vn")
    tasks.nudge()
    event = db.session.scalars(select(CopyRequestEvent)
                               .where(CopyRequestEvent.request_id == request.id)).one()
    assert smtp_server.messages[0]["Message-ID"] == (
        f"<copy-request-event-{event.id}.{request.reference}@ketqua.hanoi.gov.vn>")
