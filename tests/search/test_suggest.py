"""Search as you type: kinds, folding, privacy, the JSON shape."""

import pytest

from portal.search import get_search, suggest
from portal.search.indexing import reindex


@pytest.fixture(autouse=True)
def fresh_lists():
    suggest.clear_cache()
    yield
    suggest.clear_cache()


def _get(client, q, **headers):
    response = client.get("/api/v1/suggest", query_string={"q": q}, headers=headers)
    assert response.status_code == 200
    return response.get_json()


def test_under_two_characters_nothing(client):
    assert _get(client, "") == [] and _get(client, "g") == [] and _get(client, " đ ") == []


def test_units_old_with_successor_and_folding(client):
    found = _get(client, "nghia ta", **{"Accept-Language": "vi"})
    old = [s for s in found if s["kind"] == "old_unit"]
    assert old and old[0]["label"].startswith("Phường Nghĩa Tân")
    assert "Nghĩa Đô" in old[0]["label"]  # shown with its successor
    assert old[0]["url"].startswith("/units/")
    current = _get(client, "phuong nghia d")
    unit = next(s for s in current if s["kind"] == "unit" and s["label"] == "Phường Nghĩa Đô")
    assert unit["url"].startswith("/units/")


def test_doc_types_and_shape(client, make_record):
    make_record(doc_type_name="Giấy phép xây dựng")
    found = _get(client, "giay phep xay")
    assert found[0] == {"label": "Giấy phép xây dựng", "kind": "doc_type",
                        "url": "/search?q=Gi%E1%BA%A5y+ph%C3%A9p+x%C3%A2y+d%E1%BB%B1ng"}
    assert len(_get(client, "ph")) <= 8


def test_holders_of_public_results_only(app, client, db_session, make_record):
    make_record(holder="Trương Văn Khải")
    make_record(holder="Trương Thị Kiều", access="personal")
    reindex(db_session, get_search)
    holders = [s["label"] for s in _get(client, "truong") if s["kind"] == "holder"]
    assert holders == ["Trương Văn Khải"]
    assert [s["label"] for s in _get(client, "truong van kh") if s["kind"] == "holder"] == ["Trương Văn Khải"]
    assert [s["label"] for s in _get(client, "truong van k") if s["kind"] == "holder"] == ["Trương Văn Khải"]


def test_identifiers_public_only(client, make_record):
    make_record(doc_number="4471", doc_notation="GPXD")
    make_record(doc_number="4472", doc_notation="TLKS", access="personal")
    found = [s for s in _get(client, "447") if s["kind"] == "identifier"]
    assert [s["label"] for s in found] == ["4471/GPXD"]
    assert found[0]["url"] == "/search?q=4471/GPXD"


def test_engine_down_still_suggests(client, make_record):
    make_record(doc_type_name="Giấy phép xây dựng")  # no index built: the engine is unavailable
    assert any(s["kind"] == "doc_type" for s in _get(client, "giay"))
