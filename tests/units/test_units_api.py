"""GET /api/v1/units, /units/{code}, /procedures, /procedures/{code} (issue 15): reference data for
pickers, on Hanoi's real units and the procedure catalogue loaded in the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from portal.extensions import db
from portal.procedures.models import Procedure
from portal.units.models import AdminUnit, UnitSuccession
from tests.api_keys.test_api_keys import bearer, issue
from tests.web.conftest import legacy_unit_with_successor
from tests.web.test_sql_budget import counting

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _many_requests(app):
    # Walking every page comes from one address: the anonymous limit (60 a minute) would answer 429.
    app.config["API_ANONYMOUS_RATE_LIMIT"] = "100000 per minute"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["messages"]["vi"] and body["messages"]["en"] and body["status"] == status
    return body


def _walk(client, url: str) -> tuple[list[dict], int, int]:
    """Every item of a list by following `next` from `url`: items, pages visited, the total announced."""
    items, visited, total = [], 0, None
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.json
        total = body["total"] if total is None else total
        assert body["total"] == total and body["links"]["self"] == url
        items.extend(body["items"])
        visited += 1
        url = body["links"]["next"]
    return items, visited, total


# -- units -----------------------------------------------------------------------------------------


def test_an_old_commune_shows_its_successor_and_the_ward_lists_it_among_its_predecessors(client, db_session):
    old = legacy_unit_with_successor(db_session, partial=False)
    link = db_session.scalars(select(UnitSuccession).where(UnitSuccession.old_unit_id == old.id)).first()
    new = link.new_unit
    response = client.get(f"/api/v1/units/{old.code}?system=legacy")
    assert response.status_code == 200
    body = response.json
    assert (body["code"], body["name"], body["level"]) == (old.code, old.name, "commune")
    assert body["system"] == "legacy"
    assert body["parent"]["level"] == "district" and body["parent"]["name"] == old.parent.name
    assert body["predecessors"] == []
    successor = body["successors"][0]
    assert (successor["code"], successor["name"], successor["system"]) == (new.code, new.name, "current")
    assert successor["partial"] is False and successor["url"] == f"/api/v1/units/{new.code}?system=current"
    # "old" is the same system as "legacy"
    assert client.get(f"/api/v1/units/{old.code}?system=old").json == body

    ward = client.get(successor["url"]).json
    assert ward["system"] == "current" and ward["successors"] == []
    mine = [p for p in ward["predecessors"] if p["code"] == old.code and p["level"] == "commune"]
    assert mine == [{"code": old.code, "name": old.name, "system": "legacy", "level": "commune",
                     "parent": {"code": old.parent.code, "name": old.parent.name, "system": "legacy",
                                "level": "district"},
                     "partial": False, "url": f"/api/v1/units/{old.code}?system=legacy"}]
    # Its old district went partly into it: a picker can offer "Quận …" too.
    assert any(p["level"] == "district" and p["partial"] for p in ward["predecessors"])


def test_a_split_commune_lists_every_successor_as_partial_in_the_official_order(client, db_session):
    # Real rows: Phường Điện Biên (legacy 00019) was split four ways.
    body = client.get("/api/v1/units/00019?system=legacy").json
    assert body["name"] == "Phường Điện Biên" and len(body["successors"]) == 4
    assert all(s["partial"] for s in body["successors"])
    unit = db_session.scalar(select(AdminUnit).where(AdminUnit.system == "legacy", AdminUnit.code == "00019"))
    listed = [link.new_unit.code for link in sorted(unit.successor_links, key=lambda link: link.position)]
    assert [s["code"] for s in body["successors"]] == listed


def test_codes_are_per_system_and_an_unknown_one_is_404(client):
    # 00070 is today's Phường Hoàn Kiếm and, before 2025, Phường Hàng Trống.
    assert client.get("/api/v1/units/00070").json["name"] == "Phường Hoàn Kiếm"
    assert client.get("/api/v1/units/00070?system=current").json["name"] == "Phường Hoàn Kiếm"
    assert client.get("/api/v1/units/00070?system=legacy").json["name"] == "Phường Hàng Trống"
    _problem(client.get("/api/v1/units/99999"), 404)
    _problem(client.get("/api/v1/units/70"), 404)  # codes as stored, zero-padded
    for odd in ("abc", "000700", "%D9%A0%D9%A0"):  # looked up nowhere
        _problem(client.get(f"/api/v1/units/{odd}"), 404)
        _problem(client.get(f"/api/v1/procedures/{odd}"), 404)
    for odd in ("%00", "0007%00"):  # a NUL byte never reaches a view (portal.security): 400
        _problem(client.get(f"/api/v1/units/{odd}"), 400)
        _problem(client.get(f"/api/v1/procedures/{odd}"), 400)
    hint = _problem(client.get("/api/v1/units/002"), 404)  # Quận Hoàn Kiếm: an old district only
    assert "system=legacy" in hint["messages"]["en"] and "system=legacy" in hint["messages"]["vi"]


def test_q_without_tone_marks_finds_the_ward(client):
    body = client.get("/api/v1/units?q=hoan+kiem").json
    names = [(item["system"], item["name"]) for item in body["items"]]
    assert names[0] == ("current", "Phường Hoàn Kiếm")  # today's units first
    assert ("legacy", "Quận Hoàn Kiếm") in names and body["total"] == len(names)
    assert client.get("/api/v1/units?q=HOÀN%20kiếm&system=current").json["total"] == 1
    assert client.get("/api/v1/units?q=kiem+hoan&system=current").json["items"][0]["code"] == "00070"
    assert client.get("/api/v1/units?q=00070").json["total"] == 2  # a code: the ward and the old commune
    assert client.get("/api/v1/units?q=khong+co+dau").json["total"] == 0


def test_filters_by_system_level_and_parent(client):
    current = client.get("/api/v1/units?system=current&level=commune&per_page=200").json
    assert current["total"] == 126 and len(current["items"]) == 126
    assert {(i["system"], i["level"]) for i in current["items"]} == {("current", "commune")}
    districts = client.get("/api/v1/units?system=old&level=district&per_page=200").json
    assert districts["total"] == 30 and districts["items"][0]["name"] == "Quận Ba Đình"
    hoan_kiem = client.get("/api/v1/units?system=legacy&parent=002&per_page=200").json
    assert hoan_kiem["total"] > 10
    assert {i["parent"]["name"] for i in hoan_kiem["items"]} == {"Quận Hoàn Kiếm"}
    assert all(i["successors"] for i in hoan_kiem["items"])
    assert client.get("/api/v1/units?system=current&level=district").json["total"] == 0


@pytest.mark.parametrize("query", ["", "system=legacy&level=commune", "q=phuong"])
def test_paging_links_walk_the_whole_list_once(client, db_session, query):
    items, visited, total = _walk(client, f"/api/v1/units?{query}&per_page=37&page=1".replace("?&", "?"))
    keys = [(item["system"], item["code"]) for item in items]
    assert len(keys) == len(set(keys)) == total and visited == -(-total // 37)
    if not query:
        assert total == db_session.scalar(select(db.func.count()).select_from(AdminUnit))
    first = client.get(f"/api/v1/units?{query}&per_page=37").json["links"]
    assert first["prev"] is None and first["first"].endswith("page=1")
    last = client.get(first["last"]).json
    assert last["links"]["next"] is None and last["items"] and last["page"] == last["pages"]
    past = client.get(first["last"].replace(f"page={last['pages']}", f"page={last['pages'] + 3}")).json
    assert past["items"] == [] and past["links"]["prev"] == first["last"]


def test_links_keep_only_the_list_parameters(client):
    links = client.get("/api/v1/units?system=current&_external=1&_anchor=x&per_page=5").json["links"]
    assert links["next"] == "/api/v1/units?system=current&per_page=5&page=2"


@pytest.mark.parametrize("url", [
    "/api/v1/units?page=0", "/api/v1/units?page=x", "/api/v1/units?page=10001", "/api/v1/units?per_page=201",
    "/api/v1/units?per_page=-1", "/api/v1/units?system=new", "/api/v1/units?level=ward",
    "/api/v1/units/00070?system=2025", "/api/v1/procedures?level=district", "/api/v1/procedures?per_page=0",
    "/api/v1/procedures?page=1.5", "/api/v1/units?parent=abc", "/api/v1/units?parent=%00",
    "/api/v1/units?parent=123456",
])
def test_bad_parameters_are_400_problems_in_both_languages(client, url):
    body = _problem(client.get(url), 400)
    name = url.split("?")[1].split("=")[0]
    assert name in body["messages"]["en"] and name in body["messages"]["vi"]


def test_answers_are_public_for_an_hour_and_private_with_a_key(client):
    response = client.get("/api/v1/units?system=current&per_page=5")
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert {"Authorization", "X-API-Key"} <= set(response.vary)
    url = "/api/v1/units?system=current&per_page=5"
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    keyed = client.get(url, headers=bearer(issue(scopes=("search",)).secret))
    assert keyed.status_code == 200 and keyed.headers["Cache-Control"] == "private, max-age=3600"
    assert keyed.json == response.json
    assert client.get("/api/v1/procedures/1.001193").headers["Cache-Control"] == "public, max-age=3600"
    _problem(client.get("/api/v1/units", headers=bearer("hnp_nope_nope")), 401)


def _statements(client, url: str) -> int:
    with counting() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


@pytest.mark.parametrize(("small", "large", "budget"), [
    # count, the page with parents, every link of the page's units (with their units and parents)
    ("/api/v1/units?per_page=2", "/api/v1/units?per_page=200", 3),
    ("/api/v1/units?system=legacy&level=district&per_page=1",
     "/api/v1/units?system=legacy&level=district", 3),
    # the matching ids (names folded in Python), the page, its links
    ("/api/v1/units?q=phuong&per_page=2", "/api/v1/units?q=phuong&per_page=200", 3),
    ("/api/v1/units/00019?system=legacy", "/api/v1/units/00070", 2),
    # count, the page, the fields
    ("/api/v1/procedures?per_page=2", "/api/v1/procedures?per_page=200", 3),
    ("/api/v1/procedures?q=dang+ky&per_page=2", "/api/v1/procedures?q=dang+ky&per_page=200", 3),
    ("/api/v1/procedures/1.001193", "/api/v1/procedures/2.000528.000.00.00.H26", 1),
])
def test_sql_statements_per_page_do_not_grow_with_the_page(client, small, large, budget):
    counts = [_statements(client, url) for url in (small, large)]
    assert counts[0] == counts[1] <= budget, counts


# -- procedures ------------------------------------------------------------------------------------


def test_procedures_list_search_and_filters(client, db_session):
    items, _visited, total = _walk(client, "/api/v1/procedures?per_page=7&page=1")
    assert total == db_session.scalar(select(db.func.count()).select_from(Procedure))
    assert [i["code"] for i in items] == sorted({i["code"] for i in items}) and len(items) == total
    birth = next(i for i in items if i["code"] == "1.001193")
    assert birth == {"code": "1.001193", "name": "Đăng ký khai sinh", "field": "Hộ tịch", "level": "commune",
                     "result_doc_type": "Giấy khai sinh", "notation": "", "access": "personal",
                     "catalogued": True, "url": "/api/v1/procedures/1.001193"}
    found = client.get("/api/v1/procedures?q=dang+ky+khai+sinh").json
    assert "1.001193" in [i["code"] for i in found["items"]]
    assert all("khai sinh" in i["name"].lower() for i in found["items"])
    assert [i["code"] for i in client.get("/api/v1/procedures?q=1001193").json["items"]] == ["1.001193"]
    civil = client.get("/api/v1/procedures?field=ho+tich&per_page=200").json
    assert civil["total"] > 5 and {i["field"] for i in civil["items"]} == {"Hộ tịch"}
    assert "Hộ tịch" in civil["fields"]
    province = client.get("/api/v1/procedures?level=province&per_page=200").json
    assert province["total"] > 0 and {i["level"] for i in province["items"]} == {"province"}


@pytest.mark.parametrize("code", ["1.001193", "1001193", "1 001193", "1.001193.000.00.00.H26"])
def test_a_procedure_by_its_code_in_any_written_form(client, code):
    response = client.get(f"/api/v1/procedures/{code}")
    assert response.status_code == 200 and response.json["code"] == "1.001193"


def test_the_full_national_code_of_a_2_procedure(client):
    assert client.get("/api/v1/procedures/2.000528.000.00.00.H26").json["code"] == "2.000528"


@pytest.mark.parametrize("code", ["9.999999", "1.00119", "abc", "1.001193.H26"])
def test_an_unknown_procedure_is_404(client, code):
    _problem(client.get(f"/api/v1/procedures/{code}"), 404)


@pytest.fixture
def uncatalogued(db_session):
    # The procedure table is reference data, kept between PostgreSQL tests: remove what is added.
    db_session.add(Procedure(code="2.999002", name="Thủ tục gặp trong lô nhập", field="", level="",
                             catalogued=False))
    db_session.commit()
    yield "2.999002"
    db_session.execute(delete(Procedure).where(Procedure.code == "2.999002"))
    db_session.commit()


def test_a_procedure_met_first_in_an_import_is_listed_as_not_catalogued(client, uncatalogued):
    body = client.get(f"/api/v1/procedures/{uncatalogued}").json
    assert body["catalogued"] is False and body["level"] == "" and body["field"] == ""
    assert client.get("/api/v1/procedures?q=gap+trong+lo").json["items"][0]["code"] == uncatalogued


def test_operations_are_in_the_document_with_their_tags(client):
    contract = client.get("/api/v1/openapi.json").json
    operations = {(path, op["operationId"]): op
                  for path, item in contract["paths"].items() for op in item.values()}
    expected = {("/api/v1/units", "listUnits"), ("/api/v1/units/{code}", "getUnit"),
                ("/api/v1/procedures", "listProcedures"), ("/api/v1/procedures/{code}", "getProcedure")}
    assert expected <= set(operations)
    for (path, operation_id), op in operations.items():
        if (path, operation_id) in expected:
            assert op["tags"] == (["units"] if "units" in path else ["procedures"])
            assert {"200", "304", "401", "404" if "{code}" in path else "400"} <= set(op["responses"])
    units = next(op for (path, _id), op in operations.items() if path == "/api/v1/units")
    assert {p["name"] for p in units["parameters"]} == {"system", "level", "parent", "q", "page", "per_page"}
