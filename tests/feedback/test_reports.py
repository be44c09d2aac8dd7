""""Report a problem with this result", as people go through it: the form on a result page, the
case in the clerks' queue of the result's unit (and no other), the correction through the form,
the result page's history, the search under the new name, and the mails to the reporter."""

from __future__ import annotations

import html as html_module
import io
import re
import resource
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from portal.audit import AuditEntry
from portal.extensions import db
from portal.feedback import corrections, reports
from portal.feedback.models import ProblemReport, RecordCorrection, ReportState
from portal.records.index_queue import enqueue_upsert
from portal.search.tasks import nudge as search_nudge
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from tests.conftest import csrf_token
from tests.files.hostile import html_polyglot, page_tree_bomb, png_bomb
from tests.files.test_file_inspect import pdf_scan
from tests.identity.oidc_fixtures import SsoDriver
from tests.web.conftest import legacy_unit_with_successor

OLD_NAME = "Công ty TNHH Hoa Sen"
NEW_NAME = "Công ty TNHH Bạch Dương"
REPORTER = "lan.nguyen@example.vn"


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_server.config(PUBLIC_BASE_URL="https://ketqua.hanoi.gov.vn"))
    with app.app_context():
        yield app


def png_bytes(size=(400, 300)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def vi(code: str, module=reports) -> str:
    """A refusal as the page shows it (Vietnamese, HTML-escaped)."""
    with force_locale("vi"):
        if module is corrections:
            return str(escape(corrections.InvalidCorrection("", code).message()))
        return str(escape(reports.message(code)))


@pytest.fixture
def units(db_session):
    """The old commune the results were issued by, the ward that took it over, another ward."""
    old = legacy_unit_with_successor(db_session, partial=False)
    (link,) = old.successor_links
    other = db_session.scalar(select(AdminUnit).where(
        AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE,
        AdminUnit.id != link.new_unit_id).order_by(AdminUnit.code))
    return {"old": old, "ward": link.new_unit, "other": other}


@pytest.fixture
def clerks(make_staff, units):
    return {"ward": make_staff(role="clerk", units=[units["ward"]], full_name="Phạm Thu Hà"),
            "other": make_staff(role="clerk", units=[units["other"]], full_name="Lê Văn Tám")}


@pytest.fixture
def public_record(make_record, units, db_session):
    record = make_record(files=True, holder=OLD_NAME, unit=units["old"])
    enqueue_upsert(db_session, record)
    db_session.commit()
    search_nudge()  # indexed under its old name, as after an import
    return record


def report_form(client, source_id: str, **fields) -> dict:
    data = {"kind": "wrong_name", "description": "Tên doanh nghiệp ghi sai, đúng là Bạch Dương.",
            "reporter_name": "Nguyễn Thị Lan", "reporter_email": REPORTER,
            "csrf_token": csrf_token(client, f"/results/{source_id}/report")}
    data.update(fields)
    return data


def post_report(client, source_id: str, **fields):
    return post_multipart(client, f"/results/{source_id}/report", report_form(client, source_id, **fields))


def post_multipart(client, url: str, data: dict):
    """Encoded here, in memory: the test client would spool a body over 500 KB to a temporary
    file it never closes."""
    data = {key: FileStorage(value[0], filename=value[1]) if isinstance(value, tuple) else value
            for key, value in data.items()}
    stream, length, boundary = stream_encode_multipart(data, threshold=64 * 1024 * 1024)
    return client.post(url, input_stream=stream, content_length=length,
                       content_type=f"multipart/form-data; boundary={boundary}")


def peak_mb() -> float:
    """The test process's peak memory: the app runs in it (Flask's test client)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stored_files(app) -> list[Path]:
    root = Path(app.config["FILES_ROOT"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def correction_form(client, url: str, **changes) -> dict:
    """The correction form as the page prefills it, with ``changes`` typed over it."""
    html = client.get(url).get_data(as_text=True)
    data = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)}
    for name in ("holder_name", "doc_number", "doc_notation", "issued_date", "valid_from", "valid_to",
                 "signer_name", "signer_title"):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or \
            re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
        data[name] = _unescape(match.group(1)) if match else ""
    summary = re.search(r'<textarea[^>]*name="summary"[^>]*>\s*(.*?)</textarea>', html, re.S)
    data["summary"] = _unescape(summary.group(1)) if summary else ""
    status = re.search(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', html)
    data["status"] = next(g for g in status.groups() if g) if status else ""
    data["reason"] = ""
    data.update(changes)
    return data


def _unescape(text: str) -> str:
    return html_module.unescape(text)


def search_api(client, text: str) -> list[str]:
    answer = client.get("/api/v1/search", query_string={"q": text}).get_json()
    return [hit["source_id"] for hit in answer["hits"]]


def test_a_report_leads_to_a_correction_with_history_reindex_and_mail(
        app, client, public_record, clerks, login_staff, smtp_server, db_session):
    source_id = public_record.source_id
    assert search_api(client, "Hoa Sen") == [source_id]

    # An anonymous visitor finds the link on the result page and sends a report with a photo.
    page = client.get(f"/results/{source_id}").get_data(as_text=True)
    assert f'href="/results/{source_id}/report"' in page
    photo = png_bytes()
    response = post_report(client, source_id, attachment=(io.BytesIO(photo), "giay-phep.png"))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    confirmation = client.get(response.location).get_data(as_text=True)
    report = db_session.scalar(select(ProblemReport))
    assert report.reference.startswith("PB-") and report.reference in confirmation
    assert (report.unit_id, report.state, report.reporter_id) == (clerks["ward"].units[0].id, "open", None)
    assert report.attachment_media_type == "image/png"
    [received] = smtp_server.messages
    assert received["To"] == REPORTER and report.reference in received["Subject"]
    assert "Đã nhận phản ánh" in received["Subject"]

    # The clerks of the ward that took over the issuing commune see the case; another ward's do not.
    other = app.test_client()
    login_staff(other, clerks["other"])
    assert report.reference not in other.get("/staff/problem-reports/").get_data(as_text=True)
    assert other.get(f"/staff/problem-reports/{report.reference}").status_code == 404
    assert other.get(f"/staff/problem-reports/{report.reference}/correct").status_code == 404
    assert other.get(f"/staff/problem-reports/{report.reference}/attachment").status_code == 404

    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    queue = clerk.get("/staff/problem-reports/").get_data(as_text=True)
    assert report.reference in queue and 'data-tab="open">1<' in queue
    case = clerk.get(f"/staff/problem-reports/{report.reference}").get_data(as_text=True)
    assert "Tên doanh nghiệp ghi sai" in case and "giay-phep.png" in case and REPORTER in case
    download = clerk.get(f"/staff/problem-reports/{report.reference}/attachment")
    assert download.status_code == 200 and download.data == photo
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()

    # The clerk corrects the holder's name through the form, prefilled with the current values.
    url = f"/staff/problem-reports/{report.reference}/correct"
    assert f'value="{OLD_NAME}"' in clerk.get(url).get_data(as_text=True)
    response = clerk.post(url, data=correction_form(clerk, url, holder_name=NEW_NAME,
                                                    reason="Sửa tên theo giấy đăng ký doanh nghiệp"))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]

    # The result page shows the new name and the history entry: what, before → after, why, who.
    page = client.get(f"/results/{source_id}").get_data(as_text=True)
    assert f"<dd>{NEW_NAME}</dd>" in page and f"<dd>{OLD_NAME}</dd>" not in page
    history = page.split('id="corrections-title"')[1]
    assert f"<del>{OLD_NAME}</del>" in history and f"<ins>{NEW_NAME}</ins>" in history
    assert "Sửa tên theo giấy đăng ký doanh nghiệp" in history and "Phạm Thu Hà" in history

    # Search finds it under the new name only.
    assert search_api(client, "Bạch Dương") == [source_id]
    assert search_api(client, "Hoa Sen") == []

    # The reporter is told; the case is closed in the clerk's queue.
    corrected = smtp_server.messages[-1]
    assert corrected["To"] == REPORTER and report.reference in corrected["Subject"]
    assert "đã được đính chính" in body(corrected) and "Người được cấp" in body(corrected)
    assert f"https://ketqua.hanoi.gov.vn/results/{source_id}" in body(corrected)
    db_session.expire_all()
    report = db_session.get(ProblemReport, report.id)
    assert (report.state, report.resolved_by_id) == (ReportState.CORRECTED, clerks["ward"].id)
    assert report.resolved_at is not None
    queue = clerk.get("/staff/problem-reports/?state=corrected").get_data(as_text=True)
    assert report.reference in queue and 'data-tab="open">0<' in queue


def test_a_file_named_png_that_is_not_an_image_is_refused_and_nothing_is_stored(app, client, public_record,
                                                                                 db_session, smtp_server):
    before = stored_files(app)
    response = post_report(client, public_record.source_id,
                           attachment=(io.BytesIO(b"MZ\x90\x00 this is a program " * 50), "anh-chup.png"))
    assert response.status_code == 400
    assert vi("attachment_type") in response.get_data(as_text=True)
    assert "Tên doanh nghiệp ghi sai" in response.get_data(as_text=True)  # what they typed stays
    assert db_session.scalar(select(func.count()).select_from(ProblemReport)) == 0
    assert stored_files(app) == before and smtp_server.messages == []


def test_a_damaged_png_is_refused(app, client, public_record, db_session):
    damaged = png_bytes()[:200]
    response = post_report(client, public_record.source_id, attachment=(io.BytesIO(damaged), "scan.png"))
    assert response.status_code == 400 and vi("attachment_corrupt") in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(ProblemReport)) == 0


HOSTILE = {
    # The security test's files (issue 13), made here: each small, each costly to parse naively.
    "page-tree": (lambda: page_tree_bomb(200, 60_000), "bao-cao.pdf",
                  "Danh sách trang của tệp PDF không hợp lệ (một trang hoặc nhánh được liệt kê nhiều lần)."),
    "png-13000": (lambda: png_bomb(13_000, 13_000), "anh-chup.png",
                  "Ảnh có 169 triệu điểm ảnh, vượt quá 100 triệu điểm ảnh cho một ảnh."),
    "polyglot": (lambda: html_polyglot(pdf_scan()), "polyglot.html.pdf", None),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_attachments_are_refused_in_time_with_the_budget_and_nothing_is_stored(
        app, client, public_record, db_session, smtp_server, kind):
    make, name, expected = HOSTILE[kind]
    data = make()
    assert len(data) < 1_000_000
    before_files, before_peak = stored_files(app), peak_mb()
    started = time.monotonic()
    response = post_report(client, public_record.source_id, attachment=(io.BytesIO(data), name))
    assert time.monotonic() - started < 5
    assert peak_mb() - before_peak < 100  # the 13,000² PNG took a worker from 222 to 877 MB
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert str(escape(expected)) in html if expected else vi("attachment_type") in html
    assert "Tên doanh nghiệp ghi sai" in html  # what they typed stays
    assert db_session.scalar(select(func.count()).select_from(ProblemReport)) == 0
    assert stored_files(app) == before_files and smtp_server.messages == []


def test_a_budget_refusal_is_in_english_for_an_english_reader(app, client, public_record, db_session):
    client.get("/?lang=en")
    response = post_report(client, public_record.source_id,
                           attachment=(io.BytesIO(page_tree_bomb(3, 100)), "report.pdf"))
    assert response.status_code == 400
    assert "The PDF&#39;s page tree is not valid" in response.get_data(as_text=True)


def test_an_attachment_is_served_as_a_download_no_browser_renders(app, client, public_record, clerks,
                                                                 login_staff, db_session):
    photo = png_bytes()
    response = post_report(client, public_record.source_id, attachment=(io.BytesIO(photo), "thu.html"))
    assert response.status_code == 303
    report = db_session.scalar(select(ProblemReport))
    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    download = clerk.get(f"/staff/problem-reports/{report.reference}/attachment")
    assert download.status_code == 200 and download.data == photo
    assert download.headers["Content-Type"] == "image/png"  # from the bytes, not the name
    assert download.headers["Content-Disposition"] == "attachment; filename=thu.png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    download.close()


def test_a_hostile_scan_in_a_correction_is_refused_with_the_budget(app, public_record, clerks, login_staff,
                                                                  db_session):
    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    url = f"/staff/records/{public_record.source_id}/correct"
    data = correction_form(clerk, url, reason="Bổ sung bản quét")
    data["scan"] = (io.BytesIO(png_bomb(13_000, 13_000)), "ban-quet.png")
    started = time.monotonic()
    response = post_multipart(clerk, url, data)
    assert time.monotonic() - started < 5
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Ảnh có 169 triệu điểm ảnh" in html
    assert "Bổ sung bản quét" in html  # the reason typed stays
    db_session.expire_all()
    assert len(db_session.get(type(public_record), public_record.id).files) == 2
    assert db_session.scalar(select(func.count()).select_from(RecordCorrection)) == 0


def test_an_attachment_over_the_limit_is_refused_with_the_limit(make_app, smtp_server, make_record):
    app = make_app(FEEDBACK_ATTACHMENT_MAX_BYTES=2 * 1024 * 1024, **smtp_server.config())
    with app.app_context():
        record = make_record(files=False)
        client = app.test_client()
        noisy = Image.effect_noise((1600, 1600), 100).convert("RGB")  # noise does not compress
        buffer = io.BytesIO()
        noisy.save(buffer, "PNG")
        assert buffer.tell() > 2 * 1024 * 1024
        # Encoded here, in memory: the test client would spool a body this large to a temporary
        # file it never closes.
        data = report_form(client, record.source_id, attachment=FileStorage(
            io.BytesIO(buffer.getvalue()), filename="a.png", content_type="image/png"))
        stream, length, boundary = stream_encode_multipart(data, threshold=64 * 1024 * 1024)
        response = client.post(f"/results/{record.source_id}/report", input_stream=stream,
                               content_length=length,
                               content_type=f"multipart/form-data; boundary={boundary}")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert vi("attachment_size") in html and "2 MB" in html
        assert db.session.scalar(select(func.count()).select_from(ProblemReport)) == 0


def test_the_form_refuses_missing_answers_in_place(client, public_record, db_session):
    response = post_report(client, public_record.source_id, description="sai")
    assert response.status_code == 400 and vi("description") in response.get_data(as_text=True)
    response = post_report(client, public_record.source_id, reporter_email="")
    assert response.status_code == 400 and vi("reporter_email") in response.get_data(as_text=True)
    response = post_report(client, public_record.source_id, kind="nonsense")
    assert response.status_code == 400 and vi("kind") in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(ProblemReport)) == 0


def test_a_personal_result_is_reportable_only_by_who_may_read_it(app, record_of, login_citizen, smtp_server,
                                                                 db_session, oidc_provider):
    from tests.copy_requests.conftest import CITIZEN_ID

    record = record_of(CITIZEN_ID, access="personal")
    url = f"/results/{record.source_id}/report"
    anonymous = app.test_client()
    assert anonymous.get(url).status_code == 404
    assert 'id="report-problem"' not in anonymous.get(f"/results/{record.source_id}").get_data(as_text=True)
    other = app.test_client()
    login_citizen(other, "other-citizen")
    assert other.get(url).status_code == 404
    token = csrf_token(other, "/")  # any form of the site: the token is per session
    response = other.post(url, data={"kind": "other", "description": "Thông tin này không đúng.",
                                     "reporter_name": "X", "reporter_email": "x@example.vn",
                                     "csrf_token": token})
    assert response.status_code == 404
    assert db_session.scalar(select(func.count()).select_from(ProblemReport)) == 0

    # The holder, logged in, finds their name prefilled and may leave no e-mail (then no mail).
    holder = app.test_client()
    SsoDriver(oidc_provider).login(holder, "citizen")  # another person: their own provider session
    form = holder.get(url).get_data(as_text=True)
    assert 'value="Nguyễn Thị Lan"' in form
    answers = {"kind": "wrong_date", "description": "Ngày cấp ghi sai, đúng là 15/05/2019.",
               "reporter_name": "Nguyễn Thị Lan", "reporter_email": "", "csrf_token": csrf_token(holder, url)}
    response = holder.post(url, data=answers, content_type="multipart/form-data")
    assert response.status_code == 303
    report = db_session.scalar(select(ProblemReport))
    assert report.reporter_id is not None and report.reporter_email == ""
    assert smtp_server.messages == []


def test_opening_a_case_on_a_personal_result_is_in_the_holders_access_log(
        app, record_of, make_citizen, make_staff, login_staff, db_session, units):
    record = record_of("001099000777", access="personal", unit=units["old"])
    holder = make_citizen(id_number="001099000777")
    report = reports.submit_report(db_session, holder, record.source_id, "unreadable_scan",
                                   "Bản quét bị mờ trang 2.", reporter_name="", reporter_email="")
    db_session.commit()
    clerk = make_staff(role="clerk", units=[units["ward"]], full_name="Đỗ Minh Châu")
    client = app.test_client()
    login_staff(client, clerk)
    before = db_session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.subject_id == record.subject_id, AuditEntry.actor == clerk.audit_name))
    assert client.get(f"/staff/problem-reports/{report.reference}").status_code == 200
    db_session.expire_all()
    after = db_session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.subject_id == record.subject_id, AuditEntry.actor == clerk.audit_name))
    assert after == before + 1


def test_dismissing_tells_the_reporter_why(app, client, public_record, clerks, login_staff, smtp_server,
                                           db_session):
    post_report(client, public_record.source_id)
    report = db_session.scalar(select(ProblemReport))
    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    url = f"/staff/problem-reports/{report.reference}"
    response = clerk.post(f"{url}/dismiss", data={"note": "ngắn", "csrf_token": csrf_token(clerk, url)})
    assert response.status_code == 400 and vi("note") in response.get_data(as_text=True)
    note = "Tên trên giấy phép gốc là Hoa Sen, đúng như cổng hiển thị."
    response = clerk.post(f"{url}/dismiss", data={"note": note, "csrf_token": csrf_token(clerk, url)})
    assert response.status_code == 302
    dismissed = smtp_server.messages[-1]
    assert dismissed["To"] == REPORTER and report.reference in dismissed["Subject"]
    assert note in body(dismissed)
    db_session.expire_all()
    assert db_session.get(ProblemReport, report.id).state == ReportState.DISMISSED
    # A second click on the closed case is a message, not an error; no correction form either.
    response = clerk.post(f"{url}/dismiss", data={"note": note, "csrf_token": csrf_token(clerk, url)},
                          follow_redirects=True)
    assert response.status_code == 200 and vi("closed") in response.get_data(as_text=True)
    assert clerk.get(f"{url}/correct").status_code == 302
    queue = clerk.get("/staff/problem-reports/?state=dismissed").get_data(as_text=True)
    assert report.reference in queue and 'data-tab="dismissed">1<' in queue
    assert len([m for m in smtp_server.messages if "Trả lời" in m["Subject"]]) == 1


def test_a_clerk_of_another_unit_cannot_correct(app, public_record, clerks, login_staff, db_session):
    other = app.test_client()
    login_staff(other, clerks["other"])
    url = f"/staff/records/{public_record.source_id}/correct"
    assert other.get(url).status_code == 404
    response = other.post(url, data={"holder_name": NEW_NAME, "reason": "Thử",
                                     "csrf_token": csrf_token(other, "/staff/problem-reports/")})
    assert response.status_code == 404
    with pytest.raises(corrections.Forbidden):
        corrections.correct(db_session, clerks["other"], public_record, {"holder_name": NEW_NAME}, "Thử")
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(RecordCorrection)) == 0
    assert db_session.get(type(public_record), public_record.id).subject.name == OLD_NAME


def test_a_correction_that_changes_nothing_is_refused(app, public_record, clerks, login_staff, db_session):
    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    url = f"/staff/records/{public_record.source_id}/correct"
    response = clerk.post(url, data=correction_form(clerk, url, reason="Kiểm tra lại"))
    assert response.status_code == 400
    assert vi("no_change", corrections) in response.get_data(as_text=True)
    response = clerk.post(url, data=correction_form(clerk, url, summary="Cấp phép xây dựng nhà ở"))
    assert response.status_code == 400  # no reason
    assert db_session.scalar(select(func.count()).select_from(RecordCorrection)) == 0


def test_a_correction_without_a_report_with_a_new_scan_and_status(app, public_record, clerks, login_staff,
                                                                  db_session):
    from tests.web.conftest import jpeg_bytes

    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    url = f"/staff/records/{public_record.source_id}/correct"
    data = correction_form(clerk, url, status="revoked", valid_to="2024-01-31",
                           reason="Quyết định thu hồi số 12/QĐ-UBND")
    data["scan"] = (io.BytesIO(jpeg_bytes()), "ban-quet-du-trang.jpg")
    response = clerk.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.location == f"/results/{public_record.source_id}"
    db_session.expire_all()
    record = db_session.get(type(public_record), public_record.id)
    assert record.status == "revoked" and [f.position for f in record.files] == [1, 2, 3]
    assert record.status_history[-1].new_status == "revoked"
    assert record.status_history[-1].actor == clerks["ward"].audit_name
    [correction] = corrections.list_history(db_session, record)
    assert correction.before["valid_to"] is None and correction.after["valid_to"] == "2024-01-31"
    assert len(correction.before["scan"]) == 2 and len(correction.after["scan"]) == 3
    page = app.test_client().get(f"/results/{public_record.source_id}").get_data(as_text=True)
    assert "Quyết định thu hồi số 12/QĐ-UBND" in page and "31/01/2024" in page


def test_a_scan_below_the_minimum_resolution_is_refused(app, public_record, clerks, login_staff, db_session):
    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    url = f"/staff/records/{public_record.source_id}/correct"
    low = io.BytesIO()
    Image.new("RGB", (800, 1100), "white").save(low, "JPEG", dpi=(96, 96))
    data = correction_form(clerk, url, reason="Bổ sung bản quét")
    data["scan"] = (io.BytesIO(low.getvalue()), "mo.jpg")
    response = clerk.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "96 dpi" in response.get_data(as_text=True)
    db_session.expire_all()
    assert len(db_session.get(type(public_record), public_record.id).files) == 2


def test_the_queue_starts_empty_and_pages_by_25(app, public_record, clerks, login_staff, db_session):
    clerk = app.test_client()
    login_staff(clerk, clerks["ward"])
    with force_locale("vi"):
        empty = str(escape(gettext("No open report: nothing is waiting for you.")))
    assert empty in clerk.get("/staff/problem-reports/").get_data(as_text=True)
    made = [reports.submit_report(db_session, None, public_record.source_id, "other", f"Sai sót số {n:02d}.",
                                  reporter_name="Lan", reporter_email="lan@example.vn").reference
            for n in range(26)]
    db_session.commit()
    first = clerk.get("/staff/problem-reports/").get_data(as_text=True)
    second = clerk.get("/staff/problem-reports/?state=open&page=2").get_data(as_text=True)
    assert 'data-tab="open">26<' in first and 'rel="next"' in first
    assert [ref for ref in made if ref in first] == made[:25]  # the oldest first
    assert [ref for ref in made if ref in second] == made[25:]
    assert clerk.get("/staff/problem-reports/?state=nonsense&page=x").status_code == 200
