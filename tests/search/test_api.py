import pytest

from portal.search import get_search
from portal.search.indexing import reindex
from tests.search.conftest import TODAY


@pytest.fixture
def indexed(app, db_session, make_record):
    made = {
        "permit": make_record(doc_number="123", doc_notation="GPXD", holder="Phạm Văn Đông"),
        "personal": make_record(doc_type_name="Trích lục kết hôn", doc_number="9", doc_notation="KH",
                                access="personal", holder="Phạm Văn Đông", id_number="001085012345"),
    }
    reindex(db_session, get_search, today=TODAY)
    return made


def test_search_returns_public_fields_in_rank_order(client, indexed):
    body = client.get("/api/v1/search?q=giay+phep+xay+dung+nghia+tan").get_json()
    assert (body["total"], body["page"], body["per_page"], body["degraded"]) == (1, 1, 20, False)
    hit = body["hits"][0]
    assert hit["source_id"] == indexed["permit"].source_id
    assert hit["number"] == "123/GPXD"
    assert hit["holder"] == "Phạm Văn Đông"
    assert hit["issuing_unit"]["code"] == "00160"
    assert [u["name"] for u in hit["successor_units"]] == ["Phường Nghĩa Đô"]
    assert hit["procedure"]["code"] == indexed["permit"].procedure_code
    assert "<mark>Nghĩa</mark> <mark>Tân</mark>" in hit["highlights"]["units"]


def test_identifier_hit_of_a_personal_result_shows_only_type_unit_status(client, indexed):
    body = client.get("/api/v1/search?q=9%20/%20kh").get_json()
    hit = body["hits"][0]
    assert hit["restricted"] is True
    assert set(hit) == {"restricted", "doc_type_name", "issuing_unit", "successor_units", "status"}
    text = str(body)
    assert "Phạm Văn Đông" not in text and "001085012345" not in text


def test_empty_query(client, app):
    assert client.get("/api/v1/search").get_json()["total"] == 0


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=100000", "per_page=0",
                                   "per_page=1000", "year=19"])
def test_bad_parameters_are_a_400_with_a_clear_message(client, app, query):
    response = client.get(f"/api/v1/search?q=giay&{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["messages"]["vi"] and body["messages"]["en"]


def test_degraded_answer_is_still_200(client, app, indexed):
    import shutil

    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    response = client.get("/api/v1/search?q=giay+phep")
    assert response.status_code == 200
    body = response.get_json()
    assert body["degraded"] is True
    assert [h["source_id"] for h in body["hits"]] == [indexed["permit"].source_id]


def test_search_returns_facets_and_sorts(client, db_session, make_record):
    from datetime import date

    old = make_record(doc_number="1", issued_date=date(2015, 3, 1), holder="Lê Văn An")
    new = make_record(doc_number="2", issued_date=date(2023, 3, 1), holder="Lê Văn An")
    reindex(db_session, get_search, today=TODAY)
    body = client.get("/api/v1/search?q=le+van+an&sort=oldest&facets=all").get_json()
    assert [h["source_id"] for h in body["hits"]] == [old.source_id, new.source_id]
    assert body["sort"] == "oldest" and body["last_page"] == 1
    assert body["facets"]["year"] == [{"value": "2015", "count": 1}, {"value": "2023", "count": 1}]
    assert body["facets"]["unit"] == [{"value": "00160", "count": 2}]
    newest = client.get("/api/v1/search?q=le+van+an&sort=newest&year=2023&facets=year").get_json()
    assert [h["source_id"] for h in newest["hits"]] == [new.source_id]
    assert newest["facets"] == {"year": [{"value": "2023", "count": 1}]}


def test_facets_are_counted_only_when_asked_for(client, db_session, make_record):
    make_record(holder="Lê Văn An")
    reindex(db_session, get_search, today=TODAY)
    assert client.get("/api/v1/search?q=le+van+an").get_json()["facets"] == {}
    both = client.get("/api/v1/search?q=le+van+an&facets=status,year,status").get_json()["facets"]
    assert set(both) == {"status", "year"}
    refused = client.get("/api/v1/search?q=le+van+an&facets=holder")
    assert refused.status_code == 400
    assert "facets" in refused.get_json()["messages"]["vi"]


def test_bad_sort_is_a_400(client, indexed):
    response = client.get("/api/v1/search?q=giay&sort=price")
    assert response.status_code == 400 and "sort" in response.get_json()["messages"]["en"]
