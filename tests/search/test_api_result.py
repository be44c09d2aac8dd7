"""GET /api/v1/results/{source_id} (issue 15): public fields, today's status, validity, units and
status history; a personal result is 404 without the personal:read scope; a merged one redirects
(308) to the kept one; ETag/Last-Modified with 304, public for a minute."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from portal.records.models import Record, StatusChange
from tests.api_keys.test_api_keys import bearer, issue


def test_a_public_result_has_public_fields_status_history_and_is_cacheable(client, make_record, db_session):
    record = make_record(doc_number="123", doc_notation="GPXD", holder="Phạm Văn Đông", status="revoked")
    db_session.add_all([
        StatusChange(record_id=record.id, old_status=None, new_status="valid", actor="system",
                     changed_at=datetime(2024, 1, 1, tzinfo=UTC)),
        StatusChange(record_id=record.id, old_status="valid", new_status="revoked", actor="staff:1",
                     reason="annulled", changed_at=datetime(2025, 1, 1, tzinfo=UTC))])
    db_session.commit()
    response = client.get(f"/api/v1/results/{record.source_id}")
    assert response.status_code == 200
    body = response.json
    assert body["source_id"] == record.source_id and body["holder"] == "Phạm Văn Đông"
    assert body["valid_from"] == record.valid_from.isoformat() and "status" in body
    assert [e["new_status"] for e in body["status_history"]] == ["valid", "revoked"]
    assert body["status"] == "revoked"
    assert not {"holder_id_number", "id_number", "highlights", "restricted", "actor"} & set(body)
    assert "staff:1" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "public, max-age=60" and response.headers["Last-Modified"]
    url = f"/api/v1/results/{record.source_id}"
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_a_personal_result_is_404_like_an_unknown_one_without_the_scope(client, make_record, db_session):
    record = make_record(access="personal", holder="Lê Văn An", id_number="001085012345")
    db_session.commit()
    unknown = client.get("/api/v1/results/no-such-result")
    anonymous = client.get(f"/api/v1/results/{record.source_id}")
    searcher = client.get(f"/api/v1/results/{record.source_id}",
                          headers=bearer(issue(scopes=("search",)).secret))
    assert unknown.status_code == anonymous.status_code == searcher.status_code == 404
    def same(answer):  # everything but the request's own id
        return {k: v for k, v in answer.json.items() if k != "request_id"}

    assert same(anonymous) == same(unknown) == same(searcher)
    reader = client.get(f"/api/v1/results/{record.source_id}",
                        headers=bearer(issue(scopes=("personal:read",)).secret))
    assert reader.status_code == 200 and reader.json["holder"] is None
    assert "001085012345" not in reader.get_data(as_text=True)
    assert "public" not in reader.headers["Cache-Control"]


def test_a_merged_result_redirects_to_the_kept_one(client, make_record, db_session):
    kept, alias = make_record(), make_record()
    db_session.execute(update(Record).where(Record.id == alias.id).values(merged_into_id=kept.id))
    db_session.commit()
    response = client.get(f"/api/v1/results/{alias.source_id}")
    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"/api/v1/results/{kept.source_id}")
