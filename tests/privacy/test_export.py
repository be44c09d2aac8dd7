"""/my/data and its downloads: everything about the person, nothing about anyone else, bounded
SQL whatever the amount, every download recorded."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.identity.models import Citizen
from portal.privacy import export
from portal.privacy.models import DataRightsRequest
from portal.records import services as record_services
from tests.privacy.conftest import CITIZEN_ID, OTHER_ID
from tests.web.test_sql_budget import counting


@pytest.fixture
def two_people(own_record, make_staff, db_session):
    """A personal result of the citizen (looked at by a clerk), and one of another person."""
    mine = own_record(CITIZEN_ID, access="personal", summary="Đăng ký khai sinh cho cháu Nguyễn Minh An",
                      doc_type_name="Trích lục khai sinh", files=True)
    theirs = own_record(OTHER_ID, access="personal", summary="Nội dung riêng của người khác")
    clerk = make_staff(role="clerk", full_name="Phạm Thu Hà")
    record_services.view_record(db_session, mine.source_id, actor=clerk)
    record_services.view_record(db_session, theirs.source_id, actor=clerk)
    db_session.commit()
    return mine, theirs


def download(client, url="/my/data/export.json"):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response


def test_the_json_holds_the_person_and_nobody_else(client, login_citizen, two_people, db_session):
    mine, theirs = two_people
    login_citizen(client, "citizen")
    data = json.loads(download(client).get_data(as_text=True))
    assert data["schema"] == "portal.personal-data/1"
    assert data["generated_at"].endswith("+00:00")
    sections = data["sections"]
    assert list(sections) == [s.key for s in export.SECTIONS]
    [subject] = sections["subjects"]["items"]
    assert subject["id_number"] == CITIZEN_ID
    [result] = sections["results"]["items"]
    assert result["source_id"] == mine.source_id and result["summary"] == mine.summary
    assert [d["sha256"] for d in result["documents"]] == [f.document_sha256 for f in mine.files]
    [looked] = sections["access_log"]["items"]
    assert looked["who"] == "Phạm Thu Hà" and looked["object"] == f"record:{mine.source_id}"
    [account] = sections["accounts"]["items"]
    assert account["this_login"] is True
    [login] = sections["login_sessions"]["items"]
    assert login["created_at"] and "token_hash" not in login
    text = json.dumps(data, ensure_ascii=False)
    assert theirs.source_id not in text and OTHER_ID not in text and theirs.summary not in text
    # The download is a request answered at once, audited.
    db_session.expire_all()
    [request] = db_session.scalars(select(DataRightsRequest)).all()
    assert (request.kind, request.scope, request.state) == ("export", "json", "answered")
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.export"))
    assert entry.actor.startswith("citizen:") and entry.details["format"] == "json"
    assert entry.details["sections"]["results"] == 1


def test_another_person_sees_only_their_own(client, login_citizen, two_people):
    mine, theirs = two_people
    login_citizen(client, "other-citizen")
    data = json.loads(download(client).get_data(as_text=True))
    [result] = data["sections"]["results"]["items"]
    assert result["source_id"] == theirs.source_id
    assert mine.source_id not in json.dumps(data, ensure_ascii=False)


def test_the_pdf_has_a_heading_per_section(client, login_citizen, two_people):
    mine, _ = two_people
    login_citizen(client, "citizen")
    body = download(client, "/my/data/export.pdf?lang=en").data
    assert body.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    for section in export.SECTIONS:
        assert str(section.title) in text, section.key
    assert mine.source_id in text and CITIZEN_ID in text and "Nguyễn Minh An" in text


def test_the_page_counts_what_is_held_and_links_the_downloads(client, login_citizen, two_people):
    login_citizen(client, "citizen")
    page = client.get("/my/data")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    assert 'id="export-json" href="/my/data/export.json"' in text and 'href="/my/data/export.pdf"' in text
    assert 'data-section="results">1<' in text and 'data-section="access_log">1<' in text


def test_login_and_level_of_assurance_are_required(client, login_citizen, two_people):
    for url in ("/my/data", "/my/data/export.json", "/my/data/export.pdf"):
        answer = client.get(url)
        assert answer.status_code == 302 and answer.location.startswith("/login?next="), url
    login_citizen(client, "citizen-level-1")
    for url in ("/my/data", "/my/data/export.json", "/my/data/export.pdf"):
        assert client.get(url).status_code == 403, url


def test_sql_statements_do_not_grow_with_the_data(client, login_citizen, own_record, make_staff, db_session):
    login_citizen(client, "citizen")
    clerk = make_staff(role="clerk")

    def add(n: int) -> None:
        for _ in range(n):
            record = own_record(CITIZEN_ID, access="personal", files=True)
            record_services.view_record(db_session, record.source_id, actor=clerk)
        db_session.commit()

    def measured() -> int:
        with counting() as statements:
            download(client)
        return len(statements)

    add(1)
    few = measured()
    add(6)
    many = measured()
    assert many == few, (few, many)
    assert few <= 40, few


def test_the_sections_are_read_in_pages_and_bounded(app, client, login_citizen, own_record, db_session,
                                                    monkeypatch):
    login_citizen(client, "citizen")
    for _ in range(5):
        own_record(CITIZEN_ID, access="personal")
    monkeypatch.setattr(export, "PAGE", 2)
    monkeypatch.setattr(export, "MAX_ROWS", 3)
    citizen = db_session.scalar(select(Citizen))
    with app.test_request_context():
        built = export.build(db_session, citizen, controller={})
    results = built.data["sections"]["results"]
    assert (results["count"], len(results["items"]), results["truncated"]) == (5, 3, True)
    assert db_session.scalar(select(func.count()).select_from(DataRightsRequest)) == 0


def test_share_links_and_counter_sessions_are_exported_without_secrets(client, login_citizen, two_people,
                                                                       make_staff, db_session):
    from datetime import timedelta

    from portal.counter.models import CounterSession
    from portal.db import utcnow
    from portal.sharing.models import ShareLink

    mine, theirs = two_people
    login_citizen(client, "citizen")
    citizen = db_session.scalar(select(Citizen).where(Citizen.sub != ""))
    clerk = make_staff(role="clerk", full_name="Lê Thị Thu")
    db_session.add_all([
        ShareLink(citizen_id=citizen.id, record_id=mine.id, token_hash="a" * 64, recipient="Ngân hàng A",
                  fields=["summary"], expires_at=utcnow() + timedelta(days=7)),
        CounterSession(staff_id=clerk.id, subject_id=mine.subject_id, unit_id=mine.issuing_unit_id,
                       state="ended", consent_method="code", code_hash="b" * 64,
                       contact_email="lan@example.vn"),
        CounterSession(staff_id=clerk.id, subject_id=theirs.subject_id, unit_id=theirs.issuing_unit_id,
                       state="ended", consent_method="form", contact_email="khac@example.vn"),
    ])
    db_session.commit()
    data = json.loads(download(client).get_data(as_text=True))
    [link] = data["sections"]["share_links"]["items"]
    assert (link["result"], link["recipient"], link["fields"]) == (mine.source_id, "Ngân hàng A", ["summary"])
    [visit] = data["sections"]["counter_sessions"]["items"]
    assert (visit["clerk"], visit["consent_method"], visit["contact_email"]) == ("Lê Thị Thu", "code",
                                                                                 "lan@example.vn")
    text = json.dumps(data)
    assert "a" * 64 not in text and "b" * 64 not in text and "khac@example.vn" not in text
