"""Who gets what from every API operation: one table, MATRIX, for every caller and two results.

The results, both issued by an old commune merged whole into a current ward:

- ``personal``: a personal result (a birth extract) about the citizen who logs in as "citizen";
- ``public``: a public result (a building permit) whose holder is that same citizen.

The callers: ``anonymous``; three keys of a bank: ``key_bare`` (no scope at all), ``key_scoped``
(every scope but personal:read) and ``key_personal`` (every scope); the ``citizen`` holding both
results, logged in on the site; a ``clerk`` of the ward, logged in on the staff side. The API reads
keys, not logins: a logged-in person calls it as anyone does, so their rows are the anonymous row
(checked here, not assumed), except search, which answers as the search page (whose script calls
it) would: the holder's own personal hit is not logged (LOGIN_ROWS). A cell ending in "+log" also
writes one entry to the holder's access log; any other cell writes none. A check of a signed copy
is logged whatever the result's access, as on /verify: the copy was issued to a person.

`test_every_operation_of_the_contract_is_in_the_matrix` fails when the OpenAPI document gains an
operation without its row here: a new operation cannot ship without saying who may call it.
"""

# ruff: noqa: E501  (the table's rows are one line each, to be read as a table)
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import tracking
from portal.api_keys import service
from portal.audit import AuditEntry
from portal.feedback import petitions
from portal.identity.models import Citizen
from portal.sharing import services as sharing
from tests.copy_requests.signing_builders import dev_ca, issuable, issue, stored_bytes  # noqa: F401
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.conftest import legacy_unit_with_successor

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
RECORDS = ("personal", "public")
KEYS = {"key_bare": [], "key_scoped": sorted(set(service.SCOPES) - {"personal:read"}),
        "key_personal": sorted(service.SCOPES)}
ACTORS = ("anonymous", *KEYS, "citizen", "clerk")

# What the caller notices (checked by `check` below):
OK = "ok"                  # 200; reference data or a public answer, nothing of the holder's id
HIT = "hit"                # search: the result's number, summary and holder; no id number or birth date
RESTRICTED = "restricted"  # search: type, unit and status only; no number, summary, holder or link
RESULT = "result"          # one result: number, summary, holder (public) / none (personal); no id number
HIDDEN = "404"             # 404 problem, the same as for a result that does not exist
FOUND = "found"            # batch status: found, with its source id and status
NOT_FOUND = "not found"    # batch status: not found, nothing of the result
VERIFIED = "verified"      # verification: authentic, the result's type, number and status
TRACKED = "tracked"        # a copy request's or a petition's state; no name, e-mail or id number
NO_KEY = "401"             # 401 problem: a key is required
NO_SCOPE = "403"           # 403 problem: the key lacks the scope
SHARED = "shared"          # a share link its holder made (name and summary): those, never the id number

L = "+log"

# fmt: off
ROWS = {
    # operation:          anonymous / citizen / clerk      key_bare                        key_scoped                      key_personal
    "search":            ((RESTRICTED + L, HIT),         (RESTRICTED + L, HIT),          (RESTRICTED + L, HIT),          (RESTRICTED + L, HIT)),
    "suggest":           ((OK, OK),                      (OK, OK),                       (OK, OK),                       (OK, OK)),
    "getResult":         ((HIDDEN, RESULT),              (HIDDEN, RESULT),               (HIDDEN, RESULT),               (RESULT + L, RESULT)),
    "batchStatus":       ((NO_KEY, NO_KEY),              (NO_SCOPE, NO_SCOPE),           (NOT_FOUND, FOUND),             (FOUND + L, FOUND)),
    "keyUsage":          ((NO_KEY, NO_KEY),              (OK, OK),                       (OK, OK),                       (OK, OK)),
    "verifyCode":        ((VERIFIED + L, VERIFIED + L),      (VERIFIED + L, VERIFIED + L),       (VERIFIED + L, VERIFIED + L),       (VERIFIED + L, VERIFIED + L)),
    "verifyUpload":      ((NO_KEY, NO_KEY),              (NO_SCOPE, NO_SCOPE),           (VERIFIED + L, VERIFIED + L),       (VERIFIED + L, VERIFIED + L)),
    "copyRequestStatus": ((TRACKED, TRACKED),            (TRACKED, TRACKED),             (TRACKED, TRACKED),             (TRACKED, TRACKED)),
    "petitionStatus":    ((TRACKED, TRACKED),            (TRACKED, TRACKED),             (TRACKED, TRACKED),             (TRACKED, TRACKED)),
    "listUnits":         ((OK, OK),                      (OK, OK),                       (OK, OK),                       (OK, OK)),
    "getUnit":           ((OK, OK),                      (OK, OK),                       (OK, OK),                       (OK, OK)),
    "listProcedures":    ((OK, OK),                      (OK, OK),                       (OK, OK),                       (OK, OK)),
    "getProcedure":      ((OK, OK),                      (OK, OK),                       (OK, OK),                       (OK, OK)),
    "getShare":          ((SHARED + L, SHARED + L),      (SHARED + L, SHARED + L),       (SHARED + L, SHARED + L),       (SHARED + L, SHARED + L)),
}
# fmt: on
#: Callers whose row is the anonymous one: the API reads keys, not logins...
SAME_AS_ANONYMOUS = ("anonymous", "citizen", "clerk")
#: ...but search answers a logged-in holder as the search page does: their own hit is not logged.
LOGIN_ROWS = {("citizen", "search"): (RESTRICTED, HIT)}
MATRIX = {(actor, operation): dict(zip(RECORDS, LOGIN_ROWS.get((actor, operation)) or cells[
    0 if actor in SAME_AS_ANONYMOUS else 1 + list(KEYS).index(actor)], strict=True))
    for operation, cells in ROWS.items() for actor in ACTORS}


@dataclass
class World:
    records: dict
    copies: dict   # record name → IssuedCopy of it
    tracked: dict  # "copy" / "petition" → (reference, code)
    shares: dict   # record name → the token of a link its holder made (holder name and summary shown)
    unit_code: str
    keys: dict     # actor → headers


@pytest.fixture
def world(app, own_record, issuable, issue, make_staff, db_session) -> World:  # noqa: F811
    old_unit = legacy_unit_with_successor(db_session, partial=False)
    records = {
        "personal": own_record(CITIZEN_ID, access="personal", unit=old_unit, files=True,
                               doc_type_name="Trích lục khai sinh", doc_number="77", doc_notation="TLKS",
                               holder="NGUYỄN THỊ LAN", summary="Đăng ký khai sinh cho cháu Nguyễn Minh An"),
        "public": own_record(CITIZEN_ID, unit=old_unit, files=True, doc_number="501", doc_notation="GPXD",
                             holder="NGUYỄN THỊ LAN"),
    }
    copies = {}
    for name, record in records.items():
        request, clerk = issuable(record=record, subject_kind="individual")
        copies[name] = issue(request, clerk)
    request = copies["personal"].request
    shown, request.tracking_code_hash = tracking.new_code(request.reference)
    petition, petition_code = petitions.submit_petition(db_session, None, {
        "sender_name": "Trần Thị Hoà", "sender_address": "Số 12 ngõ 34 phố Đội Cấn",
        "sender_phone": "0912 345 678", "sender_email": "hoa.tran@example.vn", "about": "application",
        "title": "Phản ánh về giấy tờ ngoài quy định",
        "content": "Cán bộ yêu cầu nộp thêm bản sao sổ hộ khẩu khi đăng ký khai sinh, trái quy định."})
    keys = {actor: {"X-API-Key": service.issue(db_session, "cli", organization="Ngân hàng Thử nghiệm",
                                                scopes=scopes, daily_quota=1000).secret}
            for actor, scopes in KEYS.items()}
    holder = Citizen(issuer="matrix", sub="holder", subject_id=records["personal"].subject_id)
    db_session.add(holder)
    db_session.flush()
    shares = {name: sharing.create(db_session, holder, record.source_id, recipient="Ngân hàng Thử nghiệm",
                                   fields=["holder_name", "summary"], lifetime=timedelta(days=1),
                                   one_time=False, max_days=90).token
              for name, record in records.items()}
    db_session.commit()
    # Every call comes from one address: the anonymous limit must not be what the cells measure.
    app.config["API_ANONYMOUS_RATE_LIMIT"] = "100000 per minute"
    return World(records, copies, {"copy": (request.reference, shown), "petition": (petition.reference,
                                                                                     petition_code)},
                 shares, old_unit.code, keys)


def call(client, app, world: World, operation: str, record, headers: dict):
    """The request of ``operation`` about ``record`` (where it takes one)."""
    name = next(n for n, r in world.records.items() if r is record)
    copy = world.copies[name]
    requests = {
        "search": lambda: client.get(f"/api/v1/search?q={record.number_display}", headers=headers),
        "suggest": lambda: client.get("/api/v1/suggest?q=giay", headers=headers),
        "getResult": lambda: client.get(f"/api/v1/results/{record.source_id}", headers=headers),
        "batchStatus": lambda: client.post("/api/v1/results/status", headers=headers,
                                           json={"items": [record.source_id]}),
        "keyUsage": lambda: client.get("/api/v1/keys/me/usage", headers=headers),
        "verifyCode": lambda: client.get(f"/api/v1/verifications/{copy.code}", headers=headers),
        "verifyUpload": lambda: client.post("/api/v1/verifications", data=stored_bytes(app, copy),
                                            content_type="application/pdf", headers=headers),
        "copyRequestStatus": lambda: client.post("/api/v1/copy-requests/status", headers=headers, json=dict(
            zip(("reference", "code"), world.tracked["copy"], strict=True))),
        "petitionStatus": lambda: client.post("/api/v1/petitions/status", headers=headers, json=dict(
            zip(("reference", "code"), world.tracked["petition"], strict=True))),
        "listUnits": lambda: client.get("/api/v1/units?system=legacy&q=" + record.issuing_unit.name,
                                        headers=headers),
        "getUnit": lambda: client.get(f"/api/v1/units/{world.unit_code}?system=legacy", headers=headers),
        "listProcedures": lambda: client.get("/api/v1/procedures?per_page=5", headers=headers),
        "getProcedure": lambda: client.get(f"/api/v1/procedures/{record.procedure_code}", headers=headers),
        "getShare": lambda: client.get(f"/api/v1/shares/{world.shares[name]}", headers=headers),
    }
    return requests[operation]()


def log_entries(session, record) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.object_ref == f"record:{record.source_id}"))


def check(outcome: str, response, record) -> None:
    """Assert what the caller notices of ``record`` on ``response``."""
    subject = record.subject
    text = response.get_data(as_text=True)
    for secret in (subject.id_number, "12/03/1985", "1985-03-12"):
        assert secret not in text, f"{secret!r} shown"  # never, to anyone, through the API
    if outcome in (NO_KEY, NO_SCOPE, HIDDEN):
        assert response.status_code == int(outcome) and response.mimetype == "application/problem+json"
        assert record.number_display not in text and record.summary not in text
        return
    assert response.status_code == 200, (response.status_code, text[:300])
    body = response.get_json()
    if outcome == OK:
        if record.access == "personal":
            assert record.summary not in text and subject.name not in text
    elif outcome == HIT:
        (hit,) = body["hits"]
        assert (hit["source_id"], hit["summary"], hit["holder"]) == (record.source_id, record.summary,
                                                                   subject.name)
    elif outcome == RESTRICTED:
        (hit,) = body["hits"]
        assert hit["restricted"] is True and "number" not in hit and "holder" not in hit
        assert record.source_id not in text and record.summary not in text
    elif outcome == RESULT:
        assert (body["source_id"], body["number"], body["summary"]) == (
            record.source_id, record.number_display, record.summary)
        assert body["holder"] == (subject.name if record.access == "public" else None)
    elif outcome in (FOUND, NOT_FOUND):
        (answer,) = body["results"]
        assert answer["found"] is (outcome == FOUND)
        if outcome == FOUND:
            assert [m["source_id"] for m in answer["matches"]] == [record.source_id]
            assert answer["matches"][0]["status"] == "valid"
        else:
            assert answer["matches"] == [] and record.number_display not in text
    elif outcome == VERIFIED:
        assert body["outcome"] == "valid" and body["authentic"] is True
        assert body["result"]["number"] == record.number_display and body["result"]["status"] == "valid"
    elif outcome == TRACKED:
        assert body["reference"] and body["state"]
        assert "hoa.tran@example.vn" not in text and "0912 345 678" not in text and subject.name not in text
    elif outcome == SHARED:
        assert (body["number"], body["holder_name"], body["summary"]) == (
            record.number_display, subject.name, record.summary)
        assert "holder_id_number" not in body and body["status"] == "valid"
    else:
        raise AssertionError(f"unknown outcome {outcome!r}")


@pytest.fixture
def act_as(world, login_citizen, login_staff, make_staff, db_session):
    def act(client, actor: str) -> dict:
        if actor == "citizen":
            login_citizen(client, "citizen")
        elif actor == "clerk":
            ward = world.records["public"].issuing_unit.successor_links[0].new_unit
            login_staff(client, make_staff(role="clerk", units=[ward]))
        return world.keys.get(actor, {})

    return act


@pytest.mark.parametrize(("actor", "operation"), list(MATRIX), ids=[f"{a}-{o}" for a, o in MATRIX])
def test_who_gets_what(actor, operation, app, client, world, act_as, db_session):
    headers = act_as(client, actor)
    for name, cell in MATRIX[actor, operation].items():
        record = world.records[name]
        outcome, logged = cell.removesuffix(L), cell.endswith(L)
        before = log_entries(db_session, record)
        response = call(client, app, world, operation, record, headers)
        try:
            check(outcome, response, record)
        except AssertionError as error:
            raise AssertionError(f"{actor} on {operation} of the {name} result: {error}") from error
        written = log_entries(db_session, record) - before
        assert written == int(logged), f"{actor} on {operation} of the {name} result: {written} log entries"


def test_every_operation_of_the_contract_is_in_the_matrix(client):
    contract = client.get("/api/v1/openapi.json").get_json()
    documented = {op["operationId"] for item in contract["paths"].values() for op in item.values()}
    assert documented == set(ROWS), f"add or remove rows: {documented ^ set(ROWS)}"


def test_the_matrix_agrees_with_the_documented_security(client):
    """A cell that refuses without a key is an operation documented as needing one, and back."""
    contract = client.get("/api/v1/openapi.json").get_json()
    for item in contract["paths"].values():
        for operation in item.values():
            anonymous_refused = MATRIX["anonymous", operation["operationId"]]["public"] == NO_KEY
            assert anonymous_refused == ({} not in operation["security"]), operation["operationId"]
