"""The access log a person reads at /my/access-log: who else looked at their personal results.

Entries are written by the pages themselves (a clerk's view, a scan opened, a lookup by number),
onto the audit chain, in the transaction of the access; the person reads them after logging in
through the real OpenID provider.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select

from portal import clock
from portal.audit import AuditEntry
from portal.extensions import db
from portal.records import services
from portal.records.models import Record
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.conftest import legacy_unit_with_successor

ROOT = Path(__file__).resolve().parents[2]
CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
SUMMARY = "Đăng ký khai sinh cho cháu Nguyễn Minh An"
EMPTY = "Chưa có ai khác xem dữ liệu cá nhân của bạn."


@pytest.fixture
def birth_extract(own_record, db_session) -> Record:
    """The citizen's personal result, issued by an old commune merged whole into a current ward."""
    return own_record(CITIZEN_ID, access="personal", files=True, doc_type_name="Trích lục khai sinh",
                      doc_number="77", doc_notation="TLKS", summary=SUMMARY,
                      unit=legacy_unit_with_successor(db_session, partial=False))


@pytest.fixture
def ward_clerk(make_staff, birth_extract):
    (link,) = birth_extract.issuing_unit.successor_links
    return make_staff(role="clerk", units=[link.new_unit], full_name="Phạm Thu Hà")


def entries(session) -> list[AuditEntry]:
    session.expire_all()
    # Accesses to personal data; staff logins (staff.login…) are on the chain too, about accounts.
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action.notlike("staff.%"))
                                .order_by(AuditEntry.id)))


def rows(html: str) -> list[str]:
    """The table rows of the access log page, as text without tags."""
    body = html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("<tr>")[1:]]


def hanoi_time(entry: AuditEntry) -> str:
    return clock.in_hanoi(entry.at).strftime("%d/%m/%Y %H:%M")


def test_a_clerks_view_and_scan_are_on_the_citizens_log(app, client, birth_extract, ward_clerk,
                                                         login_staff, login_citizen, db_session):
    clerk = app.test_client()
    login_staff(clerk, ward_clerk)
    assert SUMMARY in clerk.get(f"/results/{birth_extract.source_id}").get_data(as_text=True)
    scan = clerk.get(f"/results/{birth_extract.source_id}/files/1/pages/1.png?w=240")
    scan.close()
    assert scan.status_code == 200

    login_citizen(client, "citizen")
    response = client.get("/my/access-log")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    assert "2 lượt truy cập" in html
    view, download = entries(db_session)
    assert (view.action, download.action) == ("record.view", "record.download")
    assert view.actor == download.actor == f"staff:{ward_clerk.id}"
    purpose = "giải quyết công việc của bộ phận một cửa"
    assert rows(html) == [  # newest first
        f"{hanoi_time(download)} Cán bộ: Phạm Thu Hà Đã mở một trang bản quét Trích lục khai sinh "
        f"{purpose} Cổng thông tin",
        f"{hanoi_time(view)} Cán bộ: Phạm Thu Hà Đã xem kết quả Trích lục khai sinh {purpose} Cổng thông tin",
    ]
    assert f'href="/results/{birth_extract.source_id}"' in html
    assert download.details == {"file": 1, "page": 1}


def test_the_citizens_own_looks_are_not_logged(client, birth_extract, login_citizen, db_session):
    login_citizen(client, "citizen")
    source_id = birth_extract.source_id
    for url in (f"/results/{source_id}", f"/results/{source_id}/files/1/pages/2",
                f"/results/{source_id}/files/1/pages/1.png", "/search?q=77/TLKS", "/api/v1/search?q=77/TLKS",
                "/my/results"):
        response = client.get(url)
        response.close()
        assert response.status_code == 200, url

    assert entries(db_session) == []
    html = client.get("/my/access-log").get_data(as_text=True)
    assert EMPTY in html and "<table" not in html


def test_an_anonymous_lookup_by_number_is_logged_as_a_search_hit(client, app, birth_extract, login_citizen,
                                                                db_session):
    page = client.get("/search?q=77%2FTLKS").get_data(as_text=True)
    assert "Trích lục khai sinh" in page and SUMMARY not in page and CITIZEN_ID not in page
    api = client.get("/api/v1/search?q=77 tlks").get_json()
    assert api["hits"][0]["restricted"] is True
    client.get("/search?q=giay+phep")  # words, not its number: it is never found, nothing to log

    logged = entries(db_session)
    assert [(e.actor, e.action, e.channel, e.purpose, e.subject_id) for e in logged] == [
        ("anonymous", "record.search_hit", channel, "tra cứu công khai", birth_extract.subject_id)
        for channel in ("web", "api")]

    login_citizen(client, "citizen")
    assert rows(client.get("/my/access-log").get_data(as_text=True)) == [
        f"{hanoi_time(logged[1])} Người tra cứu không đăng nhập Tìm thấy qua tra cứu theo số hiệu "
        "Trích lục khai sinh tra cứu công khai API",
        f"{hanoi_time(logged[0])} Người tra cứu không đăng nhập Tìm thấy qua tra cứu theo số hiệu "
        "Trích lục khai sinh tra cứu công khai Cổng thông tin",
    ]


def flask_audit_verify(app) -> subprocess.CompletedProcess:
    """`flask --app app audit verify` in a shell of its own, on this test's database."""
    env = {**os.environ, "PORTAL_DATABASE_URL": app.config["DATABASE_URL"], "PORTAL_SECRET_KEY": "test",
           "PORTAL_DATA_DIR": app.config["DATA_DIR"]}
    flask = Path(sys.executable).with_name("flask")
    return subprocess.run([str(flask), "--app", "app", "audit", "verify"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_entries_are_on_the_audit_chain(app, client, birth_extract, ward_clerk, login_staff, db_session):
    login_staff(client, ward_clerk)
    client.get(f"/results/{birth_extract.source_id}")
    client.get(f"/results/{birth_extract.source_id}/files/1/pages/2")
    client.get("/search?q=77/TLKS")
    logged = entries(db_session)
    assert [e.action for e in logged] == ["record.view", "record.download", "record.search_hit"]
    assert [e.prev_hash for e in logged[1:]] == [e.hash for e in logged[:-1]]

    ok = flask_audit_verify(app)
    assert ok.returncode == 0, ok.stderr
    assert "4 entries" in ok.stdout  # the clerk's login first, then the three accesses

    # Someone with database access blurs what the clerk did: the chain names that very entry.
    db_session.execute(sa.update(AuditEntry).where(AuditEntry.id == logged[1].id)
                       .values(purpose="kiểm tra định kỳ"))
    db_session.commit()
    broken = flask_audit_verify(app)
    assert broken.returncode == 1
    assert f"#{logged[1].id}" in broken.stderr and "edited" in broken.stderr


def test_no_log_entry_no_page(app, client, birth_extract, ward_clerk, login_staff, db_session):
    """The entry commits with the access: when the commit fails, the clerk is shown nothing."""
    login_staff(client, ward_clerk)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the error page a real visitor would get

    def disk_full(session):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("database or disk is full"))

    event.listen(db.session, "before_commit", disk_full)
    try:
        page = client.get(f"/results/{birth_extract.source_id}")
        scan = client.get(f"/results/{birth_extract.source_id}/files/1/pages/1.png")
    finally:
        event.remove(db.session, "before_commit", disk_full)
    db_session.rollback()

    # The database refused the commit: "not answering, nothing saved, try again" (portal/errors.py).
    assert page.status_code == scan.status_code == 503 and page.headers["Retry-After"] == "30"
    assert SUMMARY not in page.get_data(as_text=True) and CITIZEN_ID not in page.get_data(as_text=True)
    assert scan.mimetype != "image/png"
    assert entries(db_session) == []
    # And once the database is back, the same look is both shown and logged.
    assert SUMMARY in client.get(f"/results/{birth_extract.source_id}").get_data(as_text=True)
    assert len(entries(db_session)) == 1


def test_the_log_is_paginated_newest_first(client, birth_extract, ward_clerk, make_staff, login_citizen,
                                           db_session):
    supervisor = make_staff(role="supervisor", units=ward_clerk.units, full_name="Trịnh Minh Quân")
    services.view_record(db_session, birth_extract.source_id, actor=supervisor)  # the oldest
    for _ in range(53):
        services.view_record(db_session, birth_extract.source_id, actor=ward_clerk)
    services.get_preview_document(db_session, birth_extract.source_id, 2, 1, actor=ward_clerk)  # newest
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == 55

    login_citizen(client, "citizen")
    first = client.get("/my/access-log").get_data(as_text=True)
    assert "55 lượt truy cập" in first
    assert len(rows(first)) == 50
    assert "Đã mở một trang bản quét" in rows(first)[0] and "Trịnh Minh Quân" not in first
    assert 'href="/my/access-log?page=2"' in first
    second = client.get("/my/access-log?page=2").get_data(as_text=True)
    assert len(rows(second)) == 5
    assert "Cán bộ: Trịnh Minh Quân Đã xem kết quả" in rows(second)[-1]
    # A page out of range shows the first one rather than an error.
    assert rows(client.get("/my/access-log?page=9999").get_data(as_text=True)) == rows(first)


def test_empty_log(client, login_citizen):
    login_citizen(client, "citizen")
    response = client.get("/my/access-log")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and EMPTY in html
    assert 'class="result-count"' not in html and "<table" not in html and 'class="pagination"' not in html


def test_a_level_1_login_is_told_its_level_is_too_low(client, login_citizen):
    login_citizen(client, "citizen-level-1")
    response = client.get("/my/access-log")
    assert response.status_code == 403
    assert "Cần tài khoản định danh điện tử mức độ cao hơn" in response.get_data(as_text=True)


def test_a_did_you_mean_suggestion_of_a_personal_result_is_logged_too(client, birth_extract, db_session):
    # One digit off: the page names the result's number, type and status, as a lookup by number would.
    html = client.get("/search?q=76/TLKS").get_data(as_text=True)
    assert "77/TLKS" in html and "Trích lục khai sinh" in html and SUMMARY not in html
    api = client.get("/api/v1/search?q=76/TLKS").get_json()
    assert [s["text"] for s in api["suggestions"]] == ["77/TLKS"]
    assert [(e.actor, e.action, e.channel, e.details) for e in entries(db_session)] == [
        ("anonymous", "record.search_hit", channel, {"restricted": True, "suggestion": True})
        for channel in ("web", "api")]
