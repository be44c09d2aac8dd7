"""POST /api/v1/results/status (issue 15): up to 100 result numbers or ids, each answered with its
status as of today (Hanoi); a key with status:batch; personal results only with personal:read, and
then on their holder's access log; one request counts once against the quota, whatever it carries."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, update
from werkzeug.serving import make_server

from portal import clock
from portal.api_keys.models import ApiKeyUsage
from portal.audit import AuditEntry
from portal.extensions import db
from portal.records.models import Record
from tests.api_keys.test_api_keys import bearer, issue
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.search.conftest import TODAY, get_unit
from tests.search.test_api_schemathesis import _Quiet

URL = "/api/v1/results/status"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "check_status.py"


@pytest.fixture(autouse=True)
def hanoi_today(monkeypatch):
    """Statuses are as of TODAY in Hanoi (a valid result whose end date passed has expired)."""
    monkeypatch.setattr(clock, "now", lambda: datetime(TODAY.year, TODAY.month, TODAY.day, 9, 30,
                                                       tzinfo=clock.HANOI))


@pytest.fixture
def checker():
    return issue(scopes=("status:batch",), quota=50)


def check(client, items, key, **kwargs):
    return client.post(URL, json={"items": items}, headers=bearer(key.secret), **kwargs)


def test_each_item_is_answered_in_order_with_todays_status(client, make_record, checker):
    permit = make_record(doc_number="123", doc_notation="GPXD", valid_to=date(2030, 1, 1))
    lapsed = make_record(doc_number="45", doc_notation="GCN", valid_to=TODAY - timedelta(days=1))
    last_day = make_record(doc_number="46", doc_notation="GCN", valid_to=TODAY)
    revoked = make_record(doc_number="47", doc_notation="GCN", status="revoked")
    items = ["123/GPXD", " 123 / gpxd ", "123-GPXD", permit.source_id, "999/KHONGCO", "45/GCN",
             "46/GCN", revoked.source_id]
    response = check(client, items, checker)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["as_of"] == TODAY.isoformat() and body["checked_at"].startswith(TODAY.isoformat())
    assert [r["item"] for r in body["results"]] == items
    assert [r["found"] for r in body["results"]] == [True, True, True, True, False, True, True, True]
    first = body["results"][0]["matches"]
    assert len(first) == 1 and first[0]["source_id"] == permit.source_id and first[0]["number"] == "123/GPXD"
    assert first[0]["status"] == "valid" and first[0]["valid_to"] == "2030-01-01"
    assert first[0]["issuing_unit"]["code"] == permit.issuing_unit.code
    assert set(first[0]) == {"source_id", "number", "doc_type_name", "status", "valid_from", "valid_to",
                             "issuing_unit", "successor_units"}  # no holder, no summary
    statuses = {r["item"]: [m["status"] for m in r["matches"]] for r in body["results"]}
    assert statuses["45/GCN"] == ["expired"] and statuses["46/GCN"] == ["valid"]
    assert statuses[revoked.source_id] == ["revoked"] and statuses["999/KHONGCO"] == []
    assert lapsed.status == "valid"  # stored valid: expired as of today only
    assert last_day.valid_to == TODAY
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_number_shared_by_two_units_answers_both_with_their_successors(client, make_record, db_session,
                                                                         checker):
    old = make_record(doc_number="8", doc_notation="QD", unit=get_unit(db_session, "00160"),
                      issued_date=date(2018, 1, 1))
    other = make_record(doc_number="8", doc_notation="QD", unit=get_unit(db_session, "00163"),
                        issued_date=date(2020, 1, 1))
    (answer,) = check(client, ["8/QĐ"], checker).json["results"]  # đ folds to d, as on the pages
    assert [m["source_id"] for m in answer["matches"]] == [other.source_id, old.source_id]  # newest first
    units = {m["issuing_unit"]["code"] for m in answer["matches"]}
    assert units == {"00160", "00163"}
    assert all(m["successor_units"] and m["successor_units"][0]["system"] == "current"
               for m in answer["matches"])


def test_a_merged_result_answers_as_the_kept_one(client, make_record, db_session, checker):
    kept = make_record(doc_number="300", doc_notation="GPKD")
    alias = make_record(doc_number="300", doc_notation="GPKD", status="revoked")
    db_session.execute(update(Record).where(Record.id == alias.id).values(merged_into_id=kept.id))
    db_session.commit()
    by_id, by_number = check(client, [alias.source_id, "300/GPKD"], checker).json["results"]
    assert [m["source_id"] for m in by_id["matches"]] == [kept.source_id]
    assert [m["source_id"] for m in by_number["matches"]] == [kept.source_id]  # once, not twice
    assert by_id["matches"][0]["status"] == "valid"


def personal_result(make_record, **fields):
    return make_record(doc_number="77", doc_notation="TLKS", doc_type_name="Trích lục khai sinh",
                       access="personal", holder="Nguyễn Văn Công",
                       id_number=ACCOUNTS["citizen"]["claims"]["SoDinhDanh"], **fields)


def test_a_personal_result_is_not_found_without_personal_read(client, make_record, db_session, checker):
    record = personal_result(make_record)
    answers = check(client, ["77/TLKS", record.source_id, "no-such-id"], checker).json["results"]
    assert [a["found"] for a in answers] == [False, False, False]
    assert [a["matches"] for a in answers] == [[], [], []]
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.subject_id == record.subject_id)) is None


def test_with_personal_read_it_is_shown_and_on_the_holders_access_log(app, client, make_record, db_session,
                                                                       login_citizen):
    record = personal_result(make_record, status="revoked")
    bare = make_record(doc_number="78", doc_notation=None, access="personal")
    reader = issue(scopes=("status:batch", "personal:read"))
    answers = check(client, ["77/TLKS", record.source_id, "78"], reader).json["results"]
    assert [a["found"] for a in answers] == [True, True, False]  # a bare number never finds a personal one
    assert answers[0]["matches"][0]["status"] == "revoked"
    assert bare.access == "personal"
    db_session.expire_all()
    (entry,) = db_session.scalars(select(AuditEntry).where(AuditEntry.subject_id == record.subject_id)).all()
    assert entry.actor == f"apikey:{reader.key.id}" and entry.channel == "api"  # once per record and request
    assert entry.action == "record.status_check" and entry.purpose == "kiểm tra qua API"

    holder = app.test_client()
    login_citizen(holder, "citizen")
    html = holder.get("/my/access-log").get_data(as_text=True)
    assert "Tổ chức, qua API: Ngân hàng Thử nghiệm" in html
    assert "Đã kiểm tra hiệu lực của kết quả" in html and "kiểm tra qua API" in html


def test_reading_a_personal_result_by_id_with_a_key_is_logged_too(app, client, make_record, db_session,
                                                                  login_citizen):
    record = personal_result(make_record)
    reader = issue(scopes=("personal:read",))
    assert client.get(f"/api/v1/results/{record.source_id}", headers=bearer(reader.secret)).status_code == 200
    db_session.expire_all()
    (entry,) = db_session.scalars(select(AuditEntry).where(AuditEntry.subject_id == record.subject_id)).all()
    assert (entry.actor, entry.action, entry.channel) == (f"apikey:{reader.key.id}", "record.view", "api")
    holder = app.test_client()
    login_citizen(holder, "citizen")
    assert "Tổ chức, qua API: Ngân hàng Thử nghiệm" in holder.get("/my/access-log").get_data(as_text=True)


def test_a_bare_number_of_one_digit_is_an_exact_key_not_a_wildcard(client, make_record, checker):
    bare = make_record(doc_number="3", doc_notation=None)
    make_record(doc_number="3", doc_notation="GPXD")
    make_record(doc_number="33", doc_notation=None)
    (answer,) = check(client, [" 3 "], checker).json["results"]
    assert [m["source_id"] for m in answer["matches"]] == [bare.source_id]


def test_a_personal_id_is_never_looked_up(client, make_record, checker):
    record = make_record(doc_number="00108501234", doc_notation="5")  # its key has 12 digits too
    personal_id, number = check(client, ["001085012345", "00108501234/5"], checker).json["results"]
    assert personal_id["found"] is False  # as search: a personal id typed is never looked up
    assert [m["source_id"] for m in number["matches"]] == [record.source_id]


def test_without_a_key_401_and_without_the_scope_403(client, make_record):
    make_record(doc_number="123", doc_notation="GPXD")
    anonymous = client.post(URL, json={"items": ["123/GPXD"]})
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    searcher = issue(scopes=("search",))
    refused = check(client, ["123/GPXD"], searcher)
    assert refused.status_code == 403 and "status:batch" in refused.json["messages"]["en"]
    wrong = client.post(URL, json={"items": ["123/GPXD"]}, headers=bearer("hnp_abcdefgh_wrong"))
    assert wrong.status_code == 401


@pytest.mark.parametrize(("body", "says"), [
    ({"data": "not json"}, "JSON object"),
    ({"json": ["123/GPXD"]}, "JSON object"),
    ({"json": {}}, "missing"),
    ({"json": {"items": "123/GPXD"}}, "must be a list"),
    ({"json": {"items": []}}, "1 to 100 entries (0 sent)"),
    ({"json": {"items": ["1/A"] * 101}}, "1 to 100 entries (101 sent)"),
    ({"json": {"items": ["1/A", 7]}}, "items[1] must be a string"),
    ({"json": {"items": [""]}}, "items[0] must be a string of 1 to 200"),
    ({"json": {"items": ["x" * 201]}}, "items[0] must be a string of 1 to 200"),
])
def test_a_bad_body_is_400_naming_what_is_wrong(client, checker, body, says):
    response = client.post(URL, headers=bearer(checker.secret), **body)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert says in response.json["messages"]["en"] and response.json["messages"]["vi"]


def statements_of(client, items, key) -> tuple[object, int]:
    count = [0]

    def counter(*args) -> None:
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = check(client, items, key)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return response, count[0]


def test_a_request_counts_once_and_costs_the_same_sql_for_1_or_100_items(client, make_record, db_session,
                                                                         checker):
    records = [make_record(doc_number=str(500 + n), doc_notation="GPXD", unit=get_unit(db_session, code))
               for n, code in enumerate(["00160", "00163"] * 10)]
    kept = records[0]
    db_session.execute(update(Record).where(Record.id == records[1].id).values(merged_into_id=kept.id))
    db_session.commit()
    one, few = statements_of(client, ["500/GPXD"], checker)
    items = [r.number_display for r in records] + [r.source_id for r in records] + \
        [f"{900 + n}/KHONGCO" for n in range(60)]
    hundred, many = statements_of(client, items, checker)
    assert one.status_code == hundred.status_code == 200 and len(hundred.json["results"]) == 100
    assert sum(r["found"] for r in hundred.json["results"]) == 40
    # key lookup, quota upsert, ids + successors, numbers + successors, kept results + successors
    assert many <= few + 2 and many <= 8, (few, many)
    assert hundred.headers["RateLimit-Remaining"] == "48"  # 50 a day, two requests
    usage = db_session.scalar(select(ApiKeyUsage.count).where(ApiKeyUsage.key_id == checker.key.id))
    assert usage == 2


def test_the_operation_is_in_the_document_with_a_precise_body(client):
    operation = client.get("/api/v1/openapi.json").json["paths"][URL]["post"]
    assert operation["operationId"] == "batchStatus"
    assert {"200", "400", "401", "403", "429"} <= set(operation["responses"])
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    items = client.get("/api/v1/openapi.json").json["components"]["schemas"][ref]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 100)
    assert (items["items"]["minLength"], items["items"]["maxLength"]) == (1, 200)


@pytest.fixture
def live_server(app):
    """The portal on a real socket (werkzeug in a thread), for a client run as its own process."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_the_example_client_checks_100_numbers_against_a_live_server(make_record, db_session, live_server,
                                                                     tmp_path, checker):
    revoked = make_record(doc_number="600", doc_notation="GPXD", status="revoked")
    for n in range(1, 40):
        make_record(doc_number=str(600 + n), doc_notation="GPXD", valid_to=date(2030, 1, 1))
    numbers = [f"{600 + n} / gpxd" for n in range(40)] + [f"{700 + n}/KHONGCO" for n in range(60)]
    listing = tmp_path / "numbers.txt"
    listing.write_text("# số kết quả cần kiểm tra\n\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    env = dict(os.environ, PORTAL_API_KEY=checker.secret)
    run = subprocess.run([sys.executable, str(EXAMPLE), str(listing), "--base-url", live_server], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    table = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [row["item"] for row in table] == numbers  # every number, in the file's order
    assert table[0] == {"item": "600 / gpxd", "found": "yes", "status": "revoked", "number": "600/GPXD",
                        "source_id": revoked.source_id, "issuing_unit": revoked.issuing_unit.name,
                        "valid_to": ""}
    assert {row["status"] for row in table[1:40]} == {"valid"}
    assert {row["found"] for row in table[40:]} == {"no"}
    used = db_session.scalar(select(ApiKeyUsage.count).where(ApiKeyUsage.key_id == checker.key.id))
    assert used == 1  # 100 numbers, one request

    listing.write_text("\n".join(numbers + numbers[:50]) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, str(EXAMPLE), str(listing), "--base-url", live_server, "--format",
                          "table"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["item", "found", "status", "number", "source_id", "issuing_unit", "valid_to"]
    assert len(lines) == 1 + 150 and "600/GPXD" in lines[1] and "revoked" in lines[1]
    db_session.expire_all()
    assert db_session.scalar(select(ApiKeyUsage.count).where(ApiKeyUsage.key_id == checker.key.id)) == 3

    wrong = subprocess.run([sys.executable, str(EXAMPLE), str(listing), "--base-url", live_server],
                           env=dict(env, PORTAL_API_KEY="hnp_abcdefgh_wrong"), capture_output=True, text=True,
                           timeout=60)
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr
