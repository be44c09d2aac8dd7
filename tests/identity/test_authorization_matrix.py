"""Who sees what of a result: every page and download that touches one, for every kind of reader.

One table, MATRIX, says what each reader notices on each page for three results:

- ``personal``: a personal result (a birth extract) about the citizen who logs in as "citizen";
- ``org``: a personal result about the enterprise the "business" account represents;
- ``public``: a public result (a building permit) whose holder is that same citizen, so its
  holder id number and birth date are personal data even though the rest is public.

All three were issued by a real old commune that was merged whole into a current ward on 1 July
2025 (reference data); "clerk" and "supervisor" serve that ward, the "…_elsewhere" ones another.
The rule behind the table is `portal.identity.access.may_read_personal`. A cell ending in
"+log" also writes one entry to the subject's access log; any other cell writes none.
The API's result endpoint reads no login, only an API key: here every reader has none; what a key
with or without a scope sees, on every API operation, is tests/identity/test_api_authorization_matrix.py.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.identity.models import Citizen
from portal.records import services
from portal.sharing import services as sharing
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.conftest import legacy_unit_with_successor

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
ENTERPRISE = ACCOUNTS["business"]["claims"]["MaSoDoanhNghiep"]

RECORDS = ("personal", "org", "public")

#: Who logs in, and how: an account of the test OpenID provider, or a staff role and where it serves.
CITIZENS = {"other_citizen": "other-citizen", "subject": "citizen", "representative": "business"}
STAFF = {"clerk": ("clerk", "ward"), "clerk_elsewhere": ("clerk", "elsewhere"),
         "supervisor": ("supervisor", "ward"), "supervisor_elsewhere": ("supervisor", "elsewhere")}
ACTORS = ("anonymous", *CITIZENS, *STAFF)

# What the reader notices (checked by `check` below):
FULL = "full"              # 200; summary, holder, holder id number, birth date and the scans
PUBLIC = "public"          # 200; summary, holder and scans; no holder id number, no birth date
MINIMAL = "minimal"        # 200; type, issuing unit, status only: no number, summary, holder or scan
SCAN = "scan"              # 200; the scanned page (an HTML page, or the PNG itself)
HIDDEN = "404"             # 404, as for a result that does not exist
RESTRICTED = "restricted"  # search hit with type, unit and status only, no link to the result
TO_RESULT = "to result"    # search page: straight to the result page (redirect)
PUBLIC_HIT = "public hit"  # API hit: number, summary and holder; no holder id number, no birth date
API_RESULT = "api result"  # API result (JSON): number, summary and holder; no holder id number, no birth date
LOGIN = "login"            # redirect to the citizen login page
LISTED = "listed"          # 200; the result is listed with its summary
UNLISTED = "unlisted"      # 200; the result is not on the page
ENTRY = "entry"            # 200; the earlier access by a clerk of the ward is shown
NO_ENTRY = "no entry"      # 200; no access to this result is shown
FORM = "form"              # 200; the copy-request form names the result (type, number) and nothing more
REFUSED = "refused"        # 403; a page saying why, with nothing of the result
REPORT = "report"          # 200; the problem-report form names the result (type, number) and nothing more
CORRECTION = "correction"  # 200; the correction form, prefilled with summary, holder and number; no id number
STAFF_LOGIN = "staff login"  # redirect to the staff login page
FOLLOW = "follow"          # 200; the follow form names the result (type, number) and nothing more
SHARE = "share"            # 200; the share form names the result (type, number) and nothing more
SHARED = "shared"          # 200; a link its holder made showing every field: as FULL, scans through the link

L = "+log"

ENDPOINTS = {
    "result": "/results/{source_id}",
    "scan_page": "/results/{source_id}/files/1/pages/2",
    "scan_png": "/results/{source_id}/files/1/pages/1.png?w=240",
    "search": "/search?q={number}",
    "api_search": "/api/v1/search?q={number}",
    "api_result": "/api/v1/results/{source_id}",
    "my_results": "/my/results",
    "access_log": "/my/access-log",
    "copy_request": "/results/{source_id}/copy-request",
    "report": "/results/{source_id}/report",
    "correct": "/staff/records/{source_id}/correct",
    "follow": "/results/{source_id}/follow",
    "share": "/my/results/{source_id}/share",
    "shared": "/s/{token}",  # a link its holder made showing every optional field
}
#: Flask endpoints of the routes above that take a result's source id.
SOURCE_ID_ROUTES = {"records.detail": "result", "records.page_view": "scan_page",
                    "records.preview": "scan_png", "copy_requests.new": "copy_request",
                    "reports.new": "report", "reports_staff.correct_record": "correct",
                    "search_api.result": "api_result", "follows.new": "follow",
                    "share.new": "share"}

# fmt: off
MATRIX = {
    # (actor, endpoint):                      personal          org               public
    ("anonymous", "result"):                 (MINIMAL + L,      MINIMAL + L,      PUBLIC),
    ("anonymous", "scan_page"):              (HIDDEN,           HIDDEN,           SCAN),
    ("anonymous", "scan_png"):               (HIDDEN,           HIDDEN,           SCAN),
    ("anonymous", "search"):                 (RESTRICTED + L,   RESTRICTED + L,   TO_RESULT),
    ("anonymous", "api_search"):             (RESTRICTED + L,   RESTRICTED + L,   PUBLIC_HIT),
    ("anonymous", "api_result"):             (HIDDEN,           HIDDEN,           API_RESULT),
    ("anonymous", "my_results"):             (LOGIN,            LOGIN,            LOGIN),
    ("anonymous", "access_log"):             (LOGIN,            LOGIN,            LOGIN),
    ("anonymous", "copy_request"):           (LOGIN,            LOGIN,            LOGIN),
    ("anonymous", "report"):                 (HIDDEN,           HIDDEN,           REPORT),
    ("anonymous", "correct"):                (STAFF_LOGIN,      STAFF_LOGIN,      STAFF_LOGIN),
    ("anonymous", "follow"):                 (LOGIN,            LOGIN,            LOGIN),
    ("anonymous", "share"):                  (LOGIN,            LOGIN,            LOGIN),
    ("anonymous", "shared"):                 (SHARED + L,       SHARED + L,       SHARED + L,),

    ("other_citizen", "result"):             (MINIMAL + L,      MINIMAL + L,      PUBLIC),
    ("other_citizen", "scan_page"):          (HIDDEN,           HIDDEN,           SCAN),
    ("other_citizen", "scan_png"):           (HIDDEN,           HIDDEN,           SCAN),
    ("other_citizen", "search"):             (RESTRICTED + L,   RESTRICTED + L,   TO_RESULT),
    ("other_citizen", "api_search"):         (RESTRICTED + L,   RESTRICTED + L,   PUBLIC_HIT),
    ("other_citizen", "api_result"):         (HIDDEN,           HIDDEN,           API_RESULT),
    ("other_citizen", "my_results"):         (UNLISTED,         UNLISTED,         UNLISTED),
    ("other_citizen", "access_log"):         (NO_ENTRY,         NO_ENTRY,         NO_ENTRY),
    ("other_citizen", "copy_request"):       (REFUSED,          REFUSED,          FORM),
    ("other_citizen", "report"):             (HIDDEN,           HIDDEN,           REPORT),
    ("other_citizen", "correct"):            (STAFF_LOGIN,      STAFF_LOGIN,      STAFF_LOGIN),
    ("other_citizen", "follow"):             (HIDDEN,           HIDDEN,           REFUSED),
    ("other_citizen", "share"):              (HIDDEN,           HIDDEN,           REFUSED),
    ("other_citizen", "shared"):             (SHARED + L,       SHARED + L,       SHARED + L,),

    ("subject", "result"):                   (FULL,             MINIMAL + L,      FULL),
    ("subject", "scan_page"):                (SCAN,             HIDDEN,           SCAN),
    ("subject", "scan_png"):                 (SCAN,             HIDDEN,           SCAN),
    ("subject", "search"):                   (RESTRICTED,       RESTRICTED + L,   TO_RESULT),
    ("subject", "api_search"):               (RESTRICTED,       RESTRICTED + L,   PUBLIC_HIT),
    ("subject", "api_result"):               (HIDDEN,           HIDDEN,           API_RESULT),
    ("subject", "my_results"):               (LISTED,           UNLISTED,         LISTED),
    ("subject", "access_log"):               (ENTRY,            NO_ENTRY,         ENTRY),
    ("subject", "copy_request"):             (FORM,             REFUSED,          FORM),
    ("subject", "report"):                   (REPORT,           HIDDEN,           REPORT),
    ("subject", "correct"):                  (STAFF_LOGIN,      STAFF_LOGIN,      STAFF_LOGIN),
    ("subject", "follow"):                   (FOLLOW,           HIDDEN,           FOLLOW),
    ("subject", "share"):                    (SHARE,            HIDDEN,           SHARE),
    ("subject", "shared"):                   (SHARED,           SHARED + L,       SHARED,),

    ("representative", "result"):            (MINIMAL + L,      FULL,             PUBLIC),
    ("representative", "scan_page"):         (HIDDEN,           SCAN,             SCAN),
    ("representative", "scan_png"):          (HIDDEN,           SCAN,             SCAN),
    ("representative", "search"):            (RESTRICTED + L,   RESTRICTED,       TO_RESULT),
    ("representative", "api_search"):        (RESTRICTED + L,   RESTRICTED,       PUBLIC_HIT),
    ("representative", "api_result"):        (HIDDEN,           HIDDEN,           API_RESULT),
    ("representative", "my_results"):        (UNLISTED,         LISTED,           UNLISTED),
    ("representative", "access_log"):        (NO_ENTRY,         ENTRY,            NO_ENTRY),
    ("representative", "copy_request"):      (REFUSED,          FORM,             FORM),
    ("representative", "report"):            (HIDDEN,           REPORT,           REPORT),
    ("representative", "correct"):           (STAFF_LOGIN,      STAFF_LOGIN,      STAFF_LOGIN),
    ("representative", "follow"):            (HIDDEN,           FOLLOW,           FOLLOW),
    ("representative", "share"):             (HIDDEN,           SHARE,            REFUSED),
    ("representative", "shared"):            (SHARED + L,       SHARED,           SHARED + L,),

    ("clerk", "result"):                     (FULL + L,         FULL + L,         FULL + L),
    ("clerk", "scan_page"):                  (SCAN + L,         SCAN + L,         SCAN),
    ("clerk", "scan_png"):                   (SCAN + L,         SCAN + L,         SCAN),
    ("clerk", "search"):                     (RESTRICTED + L,   RESTRICTED + L,   TO_RESULT),
    ("clerk", "api_search"):                 (RESTRICTED + L,   RESTRICTED + L,   PUBLIC_HIT),
    ("clerk", "api_result"):                 (HIDDEN,           HIDDEN,           API_RESULT),
    ("clerk", "my_results"):                 (LOGIN,            LOGIN,            LOGIN),
    ("clerk", "access_log"):                 (LOGIN,            LOGIN,            LOGIN),
    ("clerk", "copy_request"):               (LOGIN,            LOGIN,            LOGIN),
    ("clerk", "report"):                     (REPORT + L,       REPORT + L,       REPORT),
    ("clerk", "correct"):                    (CORRECTION + L,   CORRECTION + L,   CORRECTION),
    ("clerk", "follow"):                     (LOGIN,            LOGIN,            LOGIN),
    ("clerk", "share"):                      (LOGIN,            LOGIN,            LOGIN),
    ("clerk", "shared"):                     (SHARED + L,       SHARED + L,       SHARED + L,),

    ("clerk_elsewhere", "result"):           (MINIMAL + L,      MINIMAL + L,      PUBLIC),
    ("clerk_elsewhere", "scan_page"):        (HIDDEN,           HIDDEN,           SCAN),
    ("clerk_elsewhere", "scan_png"):         (HIDDEN,           HIDDEN,           SCAN),
    ("clerk_elsewhere", "search"):           (RESTRICTED + L,   RESTRICTED + L,   TO_RESULT),
    ("clerk_elsewhere", "api_search"):       (RESTRICTED + L,   RESTRICTED + L,   PUBLIC_HIT),
    ("clerk_elsewhere", "api_result"):       (HIDDEN,           HIDDEN,           API_RESULT),
    ("clerk_elsewhere", "my_results"):       (LOGIN,            LOGIN,            LOGIN),
    ("clerk_elsewhere", "access_log"):       (LOGIN,            LOGIN,            LOGIN),
    ("clerk_elsewhere", "copy_request"):     (LOGIN,            LOGIN,            LOGIN),
    ("clerk_elsewhere", "report"):           (HIDDEN,           HIDDEN,           REPORT),
    ("clerk_elsewhere", "correct"):          (HIDDEN,           HIDDEN,           HIDDEN),
    ("clerk_elsewhere", "follow"):           (LOGIN,            LOGIN,            LOGIN),
    ("clerk_elsewhere", "share"):            (LOGIN,            LOGIN,            LOGIN),
    ("clerk_elsewhere", "shared"):           (SHARED + L,       SHARED + L,       SHARED + L,),

    ("supervisor", "result"):                (FULL + L,         FULL + L,         FULL + L),
    ("supervisor", "scan_page"):             (SCAN + L,         SCAN + L,         SCAN),
    ("supervisor", "scan_png"):              (SCAN + L,         SCAN + L,         SCAN),
    ("supervisor", "search"):                (RESTRICTED + L,   RESTRICTED + L,   TO_RESULT),
    ("supervisor", "api_search"):            (RESTRICTED + L,   RESTRICTED + L,   PUBLIC_HIT),
    ("supervisor", "api_result"):            (HIDDEN,           HIDDEN,           API_RESULT),
    ("supervisor", "my_results"):            (LOGIN,            LOGIN,            LOGIN),
    ("supervisor", "access_log"):            (LOGIN,            LOGIN,            LOGIN),
    ("supervisor", "copy_request"):          (LOGIN,            LOGIN,            LOGIN),
    ("supervisor", "report"):                (REPORT + L,       REPORT + L,       REPORT),
    ("supervisor", "correct"):               (CORRECTION + L,   CORRECTION + L,   CORRECTION),
    ("supervisor", "follow"):                (LOGIN,            LOGIN,            LOGIN),
    ("supervisor", "share"):                 (LOGIN,            LOGIN,            LOGIN),
    ("supervisor", "shared"):                (SHARED + L,       SHARED + L,       SHARED + L,),

    ("supervisor_elsewhere", "result"):      (MINIMAL + L,      MINIMAL + L,      PUBLIC),
    ("supervisor_elsewhere", "scan_page"):   (HIDDEN,           HIDDEN,           SCAN),
    ("supervisor_elsewhere", "scan_png"):    (HIDDEN,           HIDDEN,           SCAN),
    ("supervisor_elsewhere", "search"):      (RESTRICTED + L,   RESTRICTED + L,   TO_RESULT),
    ("supervisor_elsewhere", "api_search"):  (RESTRICTED + L,   RESTRICTED + L,   PUBLIC_HIT),
    ("supervisor_elsewhere", "api_result"):  (HIDDEN,           HIDDEN,           API_RESULT),
    ("supervisor_elsewhere", "my_results"):  (LOGIN,            LOGIN,            LOGIN),
    ("supervisor_elsewhere", "access_log"):  (LOGIN,            LOGIN,            LOGIN),
    ("supervisor_elsewhere", "copy_request"):(LOGIN,            LOGIN,            LOGIN),
    ("supervisor_elsewhere", "report"):      (HIDDEN,           HIDDEN,           REPORT),
    ("supervisor_elsewhere", "correct"):     (HIDDEN,           HIDDEN,           HIDDEN),
    ("supervisor_elsewhere", "follow"):      (LOGIN,            LOGIN,            LOGIN),
    ("supervisor_elsewhere", "share"):       (LOGIN,            LOGIN,            LOGIN),
    ("supervisor_elsewhere", "shared"):      (SHARED + L,       SHARED + L,       SHARED + L,),
}
# fmt: on

# Assisted mode at the counter (portal.counter): a clerk acting for a consenting person. Without a
# counter session of their own, staff are sent to the counter's start page; "clerk_at_counter" serves
# the ward and has an active session for the holder of the personal and public results (not for the
# enterprise); everywhere else they see what any clerk of the ward sees.
COUNTER = "counter"              # 200; the counter's result page: summary and number, no id number
COUNTER_COPY = "counter copy"    # 200; the counter's copy-request form for the person, naming the result
COUNTER_START = "counter start"  # redirect to the counter's start page
ENDPOINTS.update({"counter_result": "/staff/counter/results/{source_id}",
                  "counter_copy": "/staff/counter/results/{source_id}/copy-request"})
SOURCE_ID_ROUTES.update({"counter.result": "counter_result", "counter.copy_request": "counter_copy"})
STAFF["clerk_at_counter"] = ("clerk", "ward")
ACTORS = (*ACTORS, "clerk_at_counter")
for _actor in ACTORS:
    for _endpoint in ("counter_result", "counter_copy"):
        MATRIX[_actor, _endpoint] = (STAFF_LOGIN,) * 3 if _actor not in STAFF else (COUNTER_START,) * 3
MATRIX.update({("clerk_at_counter", e): cells for (a, e), cells in list(MATRIX.items()) if a == "clerk"})
MATRIX[("clerk_at_counter", "counter_result")] = (COUNTER + L, HIDDEN, COUNTER + L)
MATRIX[("clerk_at_counter", "counter_copy")] = (COUNTER_COPY, HIDDEN, COUNTER_COPY)

#: Pages that list several results at once: one request, a cell per result.
LIST_PAGES = {"my_results", "access_log"}

# Personal data (portal.privacy): /my/data offers exactly the results of "My results" for a
# correction, and its JSON download holds exactly those; nothing of anyone else's is on either.
CHOOSABLE = "choosable"      # 200; the result is an option of the correction form (type, number)
UNCHOOSABLE = "unchoosable"  # 200; nothing of the result on the page
EXPORTED = "exported"        # 200 JSON; the result with its summary, holder and holder id number
UNEXPORTED = "unexported"    # 200 JSON; nothing of the result
ENDPOINTS.update({"my_data": "/my/data", "my_data_json": "/my/data/export.json"})
LIST_PAGES |= {"my_data", "my_data_json"}
_AS_MY_RESULTS = {LISTED: (CHOOSABLE, EXPORTED), UNLISTED: (UNCHOOSABLE, UNEXPORTED), LOGIN: (LOGIN, LOGIN)}
for (_actor, _endpoint), _cells in list(MATRIX.items()):
    if _endpoint == "my_results":
        MATRIX[_actor, "my_data"] = tuple(_AS_MY_RESULTS[cell][0] for cell in _cells)
        MATRIX[_actor, "my_data_json"] = tuple(_AS_MY_RESULTS[cell][1] for cell in _cells)
#: Name of the clerk whose earlier views the subjects find in their access log.
EARLIER_READER = "Phạm Thu Hà"


class World:
    """The three results, their units, and what each reader may or may not be shown of them."""

    def __init__(self, records, ward, elsewhere):
        self.records, self.ward, self.elsewhere = records, ward, elsewhere


@pytest.fixture
def world(own_record, make_staff, db_session) -> World:
    old_unit = legacy_unit_with_successor(db_session, partial=False)
    (link,) = old_unit.successor_links  # merged whole into one current ward
    ward = link.new_unit
    elsewhere = db_session.scalar(
        select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE,
                                AdminUnit.id != ward.id).order_by(AdminUnit.code))
    records = {
        "personal": own_record(CITIZEN_ID, access="personal", unit=old_unit, files=True,
                               doc_type_name="Trích lục khai sinh", doc_number="77", doc_notation="TLKS",
                               holder="NGUYỄN THỊ LAN", summary="Đăng ký khai sinh cho cháu Nguyễn Minh An"),
        "org": own_record(ENTERPRISE, kind="organization", access="personal", unit=old_unit, files=True,
                          doc_type_name="Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
                          doc_number="78", doc_notation="ATTP", holder="CÔNG TY TNHH HOA SEN",
                          summary="Bếp ăn tập thể đủ điều kiện an toàn thực phẩm"),
        "public": own_record(CITIZEN_ID, unit=old_unit, files=True, doc_number="501", doc_notation="GPXD"),
    }
    records["personal"].subject.birth_date = date(1985, 3, 12)
    db_session.commit()
    # A link each holder made of each result, showing every optional field (the "shared" row).
    tokens = {}
    for name, record in records.items():
        holds = "organization_subject_id" if name == "org" else "subject_id"
        holder = Citizen(issuer="matrix", sub=f"holder-{name}", **{holds: record.subject_id})
        db_session.add(holder)
        db_session.flush()
        tokens[name] = sharing.create(db_session, holder, record.source_id, recipient="Ngân hàng Thử nghiệm",
                                      fields=list(sharing.OPTIONAL_FIELDS), lifetime=timedelta(days=1),
                                      one_time=False, max_days=90).token
    db_session.commit()
    # Earlier looks by a clerk of the ward: what the subjects' access logs have to show.
    earlier = make_staff(role="clerk", units=[ward], full_name=EARLIER_READER)
    for record in records.values():
        services.view_record(db_session, record.source_id, actor=earlier)
    db_session.commit()
    world = World(records, ward, elsewhere)
    world.tokens = tokens
    return world


@pytest.fixture
def act_as(world, login_citizen, login_staff, make_staff):
    def act(client, actor: str) -> None:
        if actor in CITIZENS:
            login_citizen(client, CITIZENS[actor])
        elif actor in STAFF:
            role, where = STAFF[actor]
            staff = make_staff(role=role, units=[getattr(world, where)])
            login_staff(client, staff)
            if actor == "clerk_at_counter":
                open_counter_session(client, staff, world)

    return act


def open_counter_session(client, staff, world) -> None:
    """An active counter session of ``staff`` for the citizen, consent taken (as by a signed form)."""
    from portal.counter import services as counter
    from portal.db import utcnow
    from portal.extensions import db

    session = counter.open_session(db.session, staff, CITIZEN_ID, world.ward.id)
    if counter.person_account(db.session, session.subject_id) is None:  # copies are filed in it
        db.session.add(Citizen(issuer="matrix", sub="counter-person", subject_id=session.subject_id))
    session.state, session.consent_method = "active", "form"
    session.started_at = utcnow()
    session.expires_at = session.started_at + timedelta(minutes=30)
    db.session.commit()
    with client.session_transaction() as browser:
        browser["counter_session"] = session.id


def facts(record) -> dict[str, str | None]:
    subject = record.subject
    return {"id number": subject.id_number,
            "birth date": subject.birth_date.strftime("%d/%m/%Y") if subject.birth_date else None,
            "summary": record.summary, "holder": subject.name, "number": record.number_display}


def log_entries(session, record) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.object_ref == f"record:{record.source_id}"))


def check(endpoint: str, outcome: str, response, record) -> None:
    """Assert what the reader of ``record`` notices on ``response``."""
    known = facts(record)
    body = response.get_data(as_text=response.mimetype != "image/png")
    text = body if isinstance(body, str) else ""
    link = f'href="/results/{record.source_id}"'
    scan = f"/results/{record.source_id}/files/1/pages/1.png"

    def shows(*names):
        for name in names:
            value = known[name]
            if value is None:
                continue
            wanted = f"<dd>{value}</dd>" if name == "holder" and endpoint == "result" else value
            assert wanted in text, f"{name} {value!r} not shown"

    def hides(*names):
        for name in names:
            if known[name] is not None:
                assert known[name] not in text, f"{name} {known[name]!r} shown"

    if outcome == LOGIN:
        assert response.status_code == 302 and response.location.startswith("/login?next="), response.location
        return
    if outcome == STAFF_LOGIN:
        assert response.status_code == 302 and response.location.startswith("/staff/login"), response.location
        return
    if outcome == COUNTER_START:
        assert response.status_code == 303 and response.location.endswith("/staff/counter"), response.location
        return
    if outcome in (COUNTER, COUNTER_COPY):
        assert response.status_code == 200, (response.status_code, text[:400])
        shows("number", *(("summary",) if outcome == COUNTER else ()))
        hides("id number", "birth date")
        if outcome == COUNTER_COPY:
            assert f'action="/staff/counter/results/{record.source_id}/copy-request"' in text
        return
    if outcome == TO_RESULT:
        assert response.status_code == 302 and response.location == f"/results/{record.source_id}"
        return
    if outcome in (HIDDEN, REFUSED):
        assert response.status_code == (404 if outcome == HIDDEN else 403)
        hides("id number", "birth date", "summary", "number")
        return
    assert response.status_code == 200, (response.status_code, text[:400])
    if outcome == FULL:
        shows("id number", "birth date", "summary", "holder", "number")
        assert scan in text
    elif outcome == PUBLIC:
        shows("summary", "holder", "number")
        hides("id number", "birth date")
        assert scan in text
    elif outcome == MINIMAL:
        assert record.doc_type_name in text
        hides("id number", "birth date", "summary", "number")
        assert f"<dd>{known['holder']}</dd>" not in text and scan not in text
    elif outcome == SCAN:
        if endpoint == "scan_png":
            assert response.mimetype == "image/png" and body.startswith(b"\x89PNG")
        else:
            assert f'src="{scan.removesuffix("/1.png")}/2.png' in text
    elif outcome == RESTRICTED:
        hides("id number", "birth date", "summary")
        assert f"/results/{record.source_id}" not in text and record.source_id not in text
        if endpoint == "api_search":
            (hit,) = response.get_json()["hits"]
            assert hit["restricted"] is True and hit["doc_type_name"] == record.doc_type_name
            assert "holder" not in hit and "number" not in hit
        else:
            assert record.doc_type_name in text and "hit--restricted" in text
    elif outcome == PUBLIC_HIT:
        (hit,) = response.get_json()["hits"]
        assert (hit["source_id"], hit["summary"], hit["holder"]) == (record.source_id, record.summary,
                                                                   known["holder"])
        hides("id number", "birth date")
    elif outcome == API_RESULT:
        answer = response.get_json()
        assert (answer["source_id"], answer["summary"], answer["holder"]) == (
            record.source_id, record.summary, known["holder"])
        hides("id number", "birth date")
    elif outcome == LISTED:
        assert link in text
        shows("summary")
    elif outcome == UNLISTED:
        assert link not in text
        hides("summary")
    elif outcome == ENTRY:
        row = next((r for r in text.split("<tr>") if link in r), None)
        assert row is not None, "no entry for this result"
        assert EARLIER_READER in row
    elif outcome == NO_ENTRY:
        assert link not in text
    elif outcome == FORM:
        assert 'method="post"' in text and f"/results/{record.source_id}/copy-request/check" in text
        shows("number")
        hides("id number", "birth date", "summary")
    elif outcome == REPORT:
        assert 'method="post"' in text and f'action="/results/{record.source_id}/report"' in text
        shows("number")
        hides("id number", "birth date", "summary")
    elif outcome == FOLLOW:
        assert 'method="post"' in text and f'action="/results/{record.source_id}/follow"' in text
        shows("number")
        hides("id number", "birth date", "summary")
    elif outcome == SHARE:
        assert 'method="post"' in text and f'action="/my/results/{record.source_id}/share"' in text
        shows("number")
        hides("id number", "birth date", "summary")
    elif outcome == SHARED:
        shows("id number", "birth date", "summary", "holder", "number")
        assert f"/s/{response.request.path.split('/')[2]}/files/1/pages/1.png" in text
    elif outcome == CORRECTION:
        assert 'method="post"' in text and f'action="/staff/records/{record.source_id}/correct"' in text
        shows("summary", "holder", "number")
        hides("id number", "birth date")
    elif outcome in (CHOOSABLE, UNCHOOSABLE):
        assert (f'<option value="{record.source_id}">' in text) == (outcome == CHOOSABLE)
        hides("id number", "summary")
        if outcome == CHOOSABLE:
            shows("number")
        else:
            hides("number")
    elif outcome in (EXPORTED, UNEXPORTED):
        exported = {r["source_id"] for r in response.get_json()["sections"]["results"]["items"]}
        if outcome == EXPORTED:
            assert record.source_id in exported
            shows("summary", "holder", "id number")
        else:
            assert record.source_id not in text
            hides("summary", "id number")
    else:
        raise AssertionError(f"unknown outcome {outcome!r}")


@pytest.mark.parametrize(("actor", "endpoint"), list(MATRIX), ids=[f"{a}-{e}" for a, e in MATRIX])
def test_who_sees_what(actor, endpoint, client, world, act_as, db_session):
    act_as(client, actor)
    cells = dict(zip(RECORDS, MATRIX[actor, endpoint], strict=True))
    if endpoint in LIST_PAGES:
        response = client.get(ENDPOINTS[endpoint])
        for name, cell in cells.items():
            assert not cell.endswith(L), "list pages of one's own results are not logged"
            check(endpoint, cell, response, world.records[name])
        return
    for name, cell in cells.items():
        record = world.records[name]
        outcome, logged = cell.removesuffix(L), cell.endswith(L)
        before = log_entries(db_session, record)
        response = client.get(ENDPOINTS[endpoint].format(source_id=record.source_id, token=world.tokens[name],
                                                         number=record.number_display))
        try:
            check(endpoint, outcome, response, record)
        except AssertionError as error:
            raise AssertionError(f"{actor} on {endpoint} of the {name} result: {error}") from error
        finally:
            response.close()
        written = log_entries(db_session, record) - before
        assert written == int(logged), f"{actor} on {endpoint} of the {name} result: {written} log entries"


def test_the_matrix_covers_every_actor_and_endpoint():
    assert set(MATRIX) == {(a, e) for a in ACTORS for e in ENDPOINTS}


def test_every_route_of_a_result_is_in_the_matrix(app):
    """A new page or download of a result must get its row in MATRIX before it ships."""
    routes = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()
              if "GET" in rule.methods and "source_id" in rule.arguments}
    missing = {endpoint: rule for endpoint, rule in routes.items() if endpoint not in SOURCE_ID_ROUTES}
    assert not missing, f"routes of a result missing from the authorization matrix: {missing}"
    assert set(SOURCE_ID_ROUTES) <= set(routes), "a route of the matrix is gone: update SOURCE_ID_ROUTES"
    for endpoint, name in SOURCE_ID_ROUTES.items():  # the URLs tested are the routes' own
        path = ENDPOINTS[name].split("?")[0].format(source_id="X")
        adapter = app.url_map.bind("localhost")
        assert adapter.match(path)[0] == endpoint, (endpoint, path)


def test_the_earlier_reader_is_a_real_entry(world, db_session):
    # The ENTRY cells rely on these: the earlier clerk's views were logged for all three results.
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action.like("record.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [e.object_ref for e in entries] == [f"record:{r.source_id}" for r in world.records.values()]
    assert json.dumps([e.details for e in entries]) == json.dumps([{"restricted": False}] * 3)
