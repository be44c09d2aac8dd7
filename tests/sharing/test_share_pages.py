"""Share links from the holder's side (form, list, revoke) and the recipient's page /s/<token>."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask_babel import refresh
from sqlalchemy import func, select

from portal import clock
from portal.audit import AuditEntry
from portal.sharing.models import ShareLink
from tests.conftest import csrf_token
from tests.sharing.conftest import CITIZEN_ID, ENTERPRISE, OTHER_ID
from tests.web.test_sql_budget import counting

LINK = re.compile(r'id="share-url" type="text" readonly value="[^"]*/s/([A-Za-z0-9_-]+)"')


def make_share(client, source_id: str, *, recipient: str = "Ngân hàng Thử nghiệm, chi nhánh Cầu Giấy",
               fields=(), expiry: str = "7d", one_time: bool = False) -> str:
    """Create a link through the form (logged-in client); its token, read from the page shown once."""
    data = {"csrf_token": csrf_token(client, f"/my/results/{source_id}/share"), "recipient": recipient,
            "expiry": expiry, **{name: "y" for name in fields}}
    if one_time:
        data["one_time"] = "y"
    answer = client.post(f"/my/results/{source_id}/share", data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    page = client.get(answer.location).get_data(as_text=True)
    match = LINK.search(page)
    assert match, "the new link is not shown"
    return match.group(1)


def links(db_session) -> list[ShareLink]:
    db_session.expire_all()
    return db_session.scalars(select(ShareLink).order_by(ShareLink.id)).all()


def test_holder_shares_chosen_fields_and_a_stranger_sees_only_those(app, client, login_citizen, personal,
                                                                    db_session):
    login_citizen(client, "citizen")
    page = client.get(f"/results/{personal.source_id}").get_data(as_text=True)
    assert f'href="/my/results/{personal.source_id}/share"' in page
    token = make_share(client, personal.source_id, fields=["holder_name"])
    (link,) = links(db_session)
    assert link.token_hash != token and token not in link.token_hash and len(token) >= 43
    assert link.fields == ["holder_name"] and link.recipient == "Ngân hàng Thử nghiệm, chi nhánh Cầu Giấy"
    # Shown once: a reload of the list no longer has it.
    assert token not in client.get("/my/shares").get_data(as_text=True)

    stranger = app.test_client()
    answer = stranger.get(f"/s/{token}")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert answer.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in text
    assert "Trích lục khai sinh" in text and "77/TLKS" in text and "NGUYỄN THỊ LAN" in text
    assert "01/01/2030" in text and 'class="badge badge--valid"' in text and 'id="as-of"' in text
    for hidden in (CITIZEN_ID, "12/03/1985", "Nguyễn Minh An", "/files/"):
        assert hidden not in text, hidden
    assert 'id="verification-code"' in text
    # Counted, and on the holder's access log as the link for its recipient.
    (link,) = links(db_session)
    assert link.openings == 1 and link.last_opened_at is not None
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "record.view")).one()
    assert entry.actor == f"share:{link.id}" and entry.subject_id == personal.subject_id
    assert entry.purpose == "Liên kết chia sẻ cho Ngân hàng Thử nghiệm, chi nhánh Cầu Giấy"
    log = client.get("/my/access-log").get_data(as_text=True)
    assert "Liên kết chia sẻ cho Ngân hàng Thử nghiệm" in log
    # The holder's list shows it with its opening and the same verification code.
    mine = client.get("/my/shares").get_data(as_text=True)
    code = re.search(r'id="verification-code">([A-Z2-7-]+)<', text).group(1)
    assert code in mine and "Đang hiệu lực" in mine


def test_every_field_and_the_scans_when_chosen_but_never_another_records_scans(
        app, client, login_citizen, personal, own_record, db_session):
    other = own_record(CITIZEN_ID, access="personal", files=True, doc_number="78", doc_notation="TLKS")
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id,
                       fields=["holder_name", "holder_id_number", "summary", "scans"])
    stranger = app.test_client()
    text = stranger.get(f"/s/{token}").get_data(as_text=True)
    for shown in (CITIZEN_ID, "12/03/1985", "Nguyễn Minh An", "NGUYỄN THỊ LAN"):
        assert shown in text, shown
    images = re.findall(r'src="(/s/[^"]+\.png[^"]*)"', text)
    assert len(images) == 3  # a 2-page PDF and a JPEG
    image = stranger.get(images[0].replace("&amp;", "&"))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Cache-Control"] == "no-store"
    assert image.headers["X-Robots-Tag"] == "noindex, nofollow"
    image.close()
    # The link reaches its own result's files only: positions beyond them are 404.
    ticket = re.search(r"t=([^&\"]+)", images[0]).group(1)
    assert stranger.get(f"/s/{token}/files/3/pages/1.png?t={ticket}").status_code == 404
    assert stranger.get(f"/s/{token}/files/1/pages/3.png?t={ticket}").status_code == 404
    # Without the ticket signed at an opening, no scan.
    assert stranger.get(f"/s/{token}/files/1/pages/1.png").status_code == 410
    # The other record's scans are not reachable through this link, and nothing of it shows.
    assert other.number_display not in text
    entries = db_session.scalars(select(AuditEntry).where(
        AuditEntry.object_ref == f"record:{other.source_id}")).all()
    assert entries == []
    # A scan opening is on the holder's log too.
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "record.download")) == 1


def test_scans_not_chosen_are_not_served(app, client, login_citizen, personal):
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, fields=["summary"])
    stranger = app.test_client()
    text = stranger.get(f"/s/{token}").get_data(as_text=True)
    assert ".png" not in text
    from portal.extensions import db
    from portal.sharing import links as share_links
    from portal.sharing.models import ShareLink as Model
    link = db.session.scalars(select(Model)).one()
    ticket = share_links.scan_ticket(link.id, app.config)
    assert stranger.get(f"/s/{token}/files/1/pages/1.png?t={ticket}").status_code == 404


def test_revoked_link_is_refused_at_once_and_the_list_says_so(app, client, login_citizen, personal,
                                                              db_session):
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, fields=["holder_name"])
    stranger = app.test_client()
    assert stranger.get(f"/s/{token}").status_code == 200
    (link,) = links(db_session)
    form = client.get("/my/shares").get_data(as_text=True)
    assert f'action="/my/shares/{link.id}/revoke"' in form
    # No CSRF token: refused.
    assert client.post(f"/my/shares/{link.id}/revoke").status_code == 400
    token_field = {"csrf_token": csrf_token(client, "/my/shares")}
    answer = client.post(f"/my/shares/{link.id}/revoke", data=token_field)
    assert answer.status_code == 303
    refused = stranger.get(f"/s/{token}")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 410 and "đã thu hồi" in text and "NGUYỄN THỊ LAN" not in text
    assert refused.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "Đã thu hồi" in client.get("/my/shares").get_data(as_text=True)
    actions = db_session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_ref == f"share:{link.id}")).all()
    assert actions == ["share.create", "share.revoke"]


def test_someone_elses_link_cannot_be_revoked(app, client, login_citizen, login_another, personal,
                                              db_session):
    login_citizen(client, "citizen")
    make_share(client, personal.source_id)
    (link,) = links(db_session)
    other = app.test_client()
    login_another(other, "other-citizen")
    answer = other.post(f"/my/shares/{link.id}/revoke", data={"csrf_token": csrf_token(other, "/my/shares")})
    assert answer.status_code == 404
    assert links(db_session)[0].revoked_at is None
    assert "Ngân hàng" not in other.get("/my/shares").get_data(as_text=True)


def test_expired_link_is_refused(app, client, login_citizen, personal, set_now):
    start = datetime(2026, 12, 6, 9, 0)
    set_now(start)
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, expiry="1h")
    stranger = app.test_client()
    set_now(start + timedelta(minutes=59))
    assert stranger.get(f"/s/{token}").status_code == 200
    set_now(start + timedelta(hours=1))
    answer = stranger.get(f"/s/{token}")
    assert answer.status_code == 410 and "hết hạn" in answer.get_data(as_text=True)
    assert "Đã hết hạn" in client.get("/my/shares").get_data(as_text=True)


def test_annulled_result_stops_its_links(app, client, login_citizen, personal, db_session):
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, fields=["holder_name"])
    personal.status = "annulled"
    db_session.commit()
    answer = app.test_client().get(f"/s/{token}")
    assert answer.status_code == 410 and "NGUYỄN THỊ LAN" not in answer.get_data(as_text=True)
    assert app.test_client().get(f"/api/v1/shares/{token}").status_code == 410
    # And an annulled result cannot be shared again.
    assert client.get(f"/my/results/{personal.source_id}/share").status_code == 403


def test_one_time_link_opens_once(app, client, login_citizen, personal, db_session):
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, one_time=True, fields=["scans"])
    # The holder's own look is a preview: it does not spend the link.
    preview = client.get(f"/s/{token}")
    assert preview.status_code == 200 and "xem trước" in preview.get_data(as_text=True)
    assert links(db_session)[0].used_at is None and links(db_session)[0].openings == 0
    stranger = app.test_client()
    first = stranger.get(f"/s/{token}")
    assert first.status_code == 200
    # Its scans still load for the page that opened it (the ticket), the link itself no more.
    image = re.search(r'src="(/s/[^"]+\.png[^"]*)"', first.get_data(as_text=True)).group(1)
    image = image.replace("&amp;", "&")
    loaded = stranger.get(image)
    assert loaded.status_code == 200
    loaded.close()
    second = stranger.get(f"/s/{token}")
    assert second.status_code == 410 and "một lần" in second.get_data(as_text=True)
    (link,) = links(db_session)
    assert link.used_at is not None and link.openings == 1


def test_unknown_tokens_are_404_and_rate_limited(app, client):
    app.config["SHARE_UNKNOWN_RATE_LIMIT"] = "3 per hour"
    for n in range(3):
        answer = client.get(f"/s/not-a-real-token-{n}")
        assert answer.status_code == 404 and answer.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert client.get("/s/not-a-real-token-x").status_code == 429
    assert client.get("/s/" + "x" * 500).status_code == 429


def test_form_checks_its_answers(client, login_citizen, personal, db_session):
    login_citizen(client, "citizen")
    url = f"/my/results/{personal.source_id}/share"
    for data in ({"recipient": "", "expiry": "7d"}, {"recipient": "Ngân hàng", "expiry": "365d"},
                 {"recipient": "x" * 200, "expiry": "1d"}, {"recipient": "Ngân hàng", "expiry": "abc"}):
        answer = client.post(url, data={"csrf_token": csrf_token(client, url), **data})
        assert answer.status_code == 400, data
        assert 'class="field-error"' in answer.get_data(as_text=True)
    assert links(db_session) == []


def test_expiry_choices_follow_the_setting(app, client, login_citizen, personal):
    app.config["SHARE_MAX_DAYS"] = 7
    login_citizen(client, "citizen")
    text = client.get(f"/my/results/{personal.source_id}/share").get_data(as_text=True)
    assert 'value="7d"' in text and 'value="30d"' not in text


def test_who_may_share(app, client, login_citizen, login_another, own_record, db_session):
    theirs = own_record(OTHER_ID, access="personal", summary="Nội dung riêng tư")
    public_theirs = own_record(OTHER_ID, summary="Giấy phép công khai")
    org = own_record(ENTERPRISE, kind="organization", access="personal")
    login_citizen(client, "citizen")
    assert client.get(f"/my/results/{theirs.source_id}/share").status_code == 404
    assert client.get("/my/results/UNKNOWN/share").status_code == 404
    assert client.get(f"/my/results/{public_theirs.source_id}/share").status_code == 403
    assert client.get(f"/my/results/{org.source_id}/share").status_code == 404
    representative = app.test_client()
    login_another(representative, "business")
    assert representative.get(f"/my/results/{org.source_id}/share").status_code == 200
    anonymous = app.test_client().get(f"/my/results/{theirs.source_id}/share")
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")


def test_the_list_is_empty_at_first_then_paged(app, client, login_citizen, personal, db_session):
    login_citizen(client, "citizen")
    text = client.get("/my/shares").get_data(as_text=True)
    assert "Bạn chưa tạo liên kết chia sẻ nào" in text
    make_share(client, personal.source_id)
    (link,) = links(db_session)
    now = clock.now()
    for n in range(24):
        db_session.add(ShareLink(citizen_id=link.citizen_id, record_id=personal.id, token_hash=f"{n:064d}",
                                 recipient=f"Người nhận {n}", fields=[], created_at=now,
                                 expires_at=now + timedelta(days=1)))
    db_session.commit()
    first = client.get("/my/shares").get_data(as_text=True)
    assert "25 liên kết" in first and "trang 1/2" in first
    assert "page=2" in first
    assert client.get("/my/shares?page=2").status_code == 200
    assert client.get("/my/shares?page=999").status_code == 200


def test_sql_statements_per_request_are_bounded(app, client, login_citizen, personal, db_session):
    login_citizen(client, "citizen")
    tokens = [make_share(client, personal.source_id, fields=["holder_name", "summary"]) for _ in range(3)]
    stranger = app.test_client()
    with counting() as statements:
        assert stranger.get(f"/s/{tokens[0]}").status_code == 200
    opened = len(statements)
    with counting() as statements:
        assert client.get("/my/shares").status_code == 200
    listed = len(statements)
    print(f"SQL statements: /s/<token> {opened}, /my/shares (3 links) {listed}")
    assert opened <= 14, opened
    for _ in range(5):
        make_share(client, personal.source_id)
    with counting() as statements:
        assert client.get("/my/shares").status_code == 200
    assert len(statements) == listed  # the same for 3 links or 8


def test_the_access_log_names_the_link_and_its_recipient(app, client, login_citizen, personal):
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, recipient="Công ty Cổ phần Việc Làm Tốt")
    app.test_client().get(f"/s/{token}")
    log = client.get("/my/access-log").get_data(as_text=True)
    row = next(r for r in log.split("<tr>") if f"/results/{personal.source_id}" in r)
    assert "Liên kết chia sẻ" in row and "Liên kết chia sẻ cho Công ty Cổ phần Việc Làm Tốt" in row
    assert "share:" not in row


def test_the_status_is_the_one_of_the_moment_of_opening(app, client, login_citizen, personal, db_session,
                                                         set_now):
    set_now(datetime(2029, 12, 31, 9, 0))
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, expiry="90d")
    stranger = app.test_client()
    assert 'class="badge badge--valid"' in stranger.get(f"/s/{token}").get_data(as_text=True)
    set_now(datetime(2030, 1, 2, 9, 30))  # past its end date: expired, said as of now
    text = stranger.get(f"/s/{token}").get_data(as_text=True)
    assert 'class="badge badge--expired"' in text and "09:30" in text and "02/01/2030" in text
    personal.status = "revoked"  # revoked by the unit: the link still opens, and says so
    db_session.commit()
    text = stranger.get(f"/s/{token}").get_data(as_text=True)
    assert 'class="badge badge--revoked"' in text
    assert stranger.get(f"/api/v1/shares/{token}").get_json()["status"] == "revoked"


def test_the_page_leads_nowhere_else_in_the_holders_data(app, client, login_citizen, personal, own_record):
    own_record(CITIZEN_ID, access="personal", doc_number="91", doc_notation="GPLX", summary="Hạng B2")
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, fields=["holder_name", "summary", "scans"])
    text = app.test_client().get(f"/s/{token}").get_data(as_text=True)
    for elsewhere in (personal.source_id, "91/GPLX", "Hạng B2", "/my/", "/results/"):
        assert elsewhere not in text, elsewhere


def test_max_days_is_checked_at_boot(make_app):
    for bad in (0, 91, "abc"):
        with pytest.raises(RuntimeError, match="SHARE_MAX_DAYS"):
            make_app(SHARE_MAX_DAYS=bad)


def test_revoking_twice_changes_nothing_more(client, login_citizen, personal, db_session):
    login_citizen(client, "citizen")
    make_share(client, personal.source_id)
    (link,) = links(db_session)
    for _ in range(2):
        token_field = {"csrf_token": csrf_token(client, "/my/shares")}
        assert client.post(f"/my/shares/{link.id}/revoke", data=token_field).status_code == 303
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "share.revoke")) == 1
    assert f'action="/my/shares/{link.id}/revoke"' not in client.get("/my/shares").get_data(as_text=True)


def test_a_representative_who_left_the_organization_stops_sharing_its_results(
        app, client, login_citizen, own_record, db_session):
    from portal.identity.models import Citizen

    org = own_record(ENTERPRISE, kind="organization", access="personal", holder="CÔNG TY TNHH HOA SEN")
    login_citizen(client, "business")
    token = make_share(client, org.source_id, fields=["holder_name"])
    stranger = app.test_client()
    assert stranger.get(f"/s/{token}").status_code == 200
    representative = db_session.scalar(select(Citizen).where(Citizen.organization_subject_id.is_not(None)))
    representative.organization_subject_id = None
    db_session.commit()
    answer = stranger.get(f"/s/{token}")
    assert answer.status_code == 410 and "CÔNG TY TNHH HOA SEN" not in answer.get_data(as_text=True)
    assert stranger.get(f"/api/v1/shares/{token}").status_code == 410


def test_the_pages_read_in_english_with_lang_en(app, client, login_citizen, personal, db_session):
    """Message ids are English (docs/ui.md "Language"): ?lang=en shows them; Vietnamese is the default."""
    login_citizen(client, "citizen")
    form = client.get(f"/my/results/{personal.source_id}/share?lang=en").get_data(as_text=True)
    assert "Share a result" in form and "Share with" in form and "7 days" in form and "Chia sẻ" not in form
    invalid = client.post(f"/my/results/{personal.source_id}/share?lang=en", data={
        "csrf_token": csrf_token(client, f"/my/results/{personal.source_id}/share"), "recipient": "",
        "expiry": "7d"}).get_data(as_text=True)
    assert "Enter the recipient's name, for example" in invalid
    assert "Please correct the items marked below." in invalid
    token = make_share(client, personal.source_id, fields=["holder_name"])
    mine = client.get("/my/shares?lang=en").get_data(as_text=True)
    assert "My share links" in mine and "Link active" in mine and "Cross-check code" in mine
    assert "Name of the holder (person or organization)" in mine and "liên kết" not in mine.lower()

    stranger = app.test_client()
    shared = stranger.get(f"/s/{token}?lang=en").get_data(as_text=True)
    assert "Shared result" in shared and "The holder shared this result with:" in shared
    assert "Issued to" in shared and "Người được cấp" not in shared
    assert "There is no such share link" in stranger.get("/s/unknown-token?lang=en").get_data(as_text=True)
    refresh()  # the test's app context keeps the locale between requests (g._flask_babel)
    assert "Không có liên kết chia sẻ này" in stranger.get("/s/unknown-token?lang=vi").get_data(as_text=True)
    refresh()

    client.post(f"/my/shares/{links(db_session)[0].id}/revoke?lang=en",
                data={"csrf_token": csrf_token(client, "/my/shares")})
    assert "has been revoked: it no longer opens." in client.get("/my/shares?lang=en").get_data(as_text=True)
    gone = stranger.get(f"/s/{token}?lang=en")
    assert gone.status_code == 410
    assert "The holder of the result has revoked this link." in gone.get_data(as_text=True)
