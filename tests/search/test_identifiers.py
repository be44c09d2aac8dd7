"""Identifiers typed in any spacing or case, near misses, and the privacy of personal ids."""

import logging

import pytest

from portal.search import get_search
from portal.search.identifiers import Kind, classify, exact_hits, suggest
from portal.search.indexing import reindex
from portal.search.service import search_records
from tests.search.conftest import TODAY


@pytest.fixture
def records(app, db_session, make_record):
    made = {
        "permit": make_record(doc_number="123", doc_notation="GPXD",
                              dossier_code="000.20.05.H26-190502-0007"),
        "other": make_record(doc_number="456", doc_notation="GPXD", dossier_code="000.20.05.H26-190502-0008"),
        "marriage": make_record(doc_type_name="Trích lục kết hôn", doc_number="77", doc_notation="KS",
                                access="personal", dossier_code="000.00.12.H26-250101-0001"),
        "bare": make_record(doc_type_name="Trích lục khai sinh", doc_number="5310", doc_notation=None,
                            access="personal", dossier_code=None),
        "company": make_record(holder="Công ty TNHH Hoa Sen", doc_number="910", doc_notation="ĐKKD",
                               dossier_code=None),
    }
    made["company"].subject.kind = "organization"
    made["company"].subject.id_number = "0101234567"
    made["marriage"].subject.id_number = "001085012345"
    db_session.commit()
    reindex(db_session, get_search, today=TODAY)
    return made


@pytest.mark.parametrize(("typed", "kind", "key"), [
    ("123/GPXD", Kind.RESULT_NUMBER, "123gpxd"),
    (" 123 / gpxd ", Kind.RESULT_NUMBER, "123gpxd"),
    ("123", Kind.RESULT_NUMBER, "123"),
    ("000.20.05.H26-190502-0007", Kind.DOSSIER_CODE, "0002005h261905020007"),
    ("000 20 05 h26 190502 0007", Kind.DOSSIER_CODE, "0002005h261905020007"),
    ("20.05.H26-190502-0007", Kind.DOSSIER_CODE, "2005h261905020007"),
    ("1.001193", Kind.PROCEDURE_CODE, "1.001193"),
    ("1001193", Kind.PROCEDURE_CODE, "1.001193"),
    ("1 001193", Kind.PROCEDURE_CODE, "1.001193"),
    ("001085012345", Kind.PERSONAL_ID, "001085012345"),
    ("001 085 012 345", Kind.PERSONAL_ID, "001085012345"),
    ("0101234567", Kind.TAX_CODE, "0101234567"),
    ("0101234567-001", Kind.TAX_CODE, "0101234567001"),
])
def test_classify_in_any_spacing_and_case(typed, kind, key):
    assert classify(typed).kind == kind
    assert classify(typed).key == key


@pytest.mark.parametrize("typed", ["giay phep xay dung", "Nguyễn Thị Lan", "", "   "])
def test_words_are_not_identifiers(typed):
    assert classify(typed) is None


@pytest.mark.parametrize("typed", ["123/GPXD", "123 gpxd", "123-GPXD", "000.20.05.h26 190502 0007"])
def test_exact_lookup_in_any_spacing(records, db_session, typed):
    hits = exact_hits(db_session, typed, {}, TODAY)
    assert [h.record.source_id for h in hits] == [records["permit"].source_id]


def test_a_bare_number_never_finds_a_personal_result(records, db_session):
    assert exact_hits(db_session, "5310", {}, TODAY) == []
    assert exact_hits(db_session, "77", {}, TODAY) == []


def test_an_organizations_tax_code_finds_its_public_results(records, db_session):
    hits = exact_hits(db_session, "0101234567", {}, TODAY)
    assert [h.record.source_id for h in hits] == [records["company"].source_id]


def test_a_personal_id_is_never_searched(records, db_session, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the engine must not see a personal id")

    monkeypatch.setattr(get_search(), "search", boom)
    page = search_records(db_session, "001085012345", today=TODAY)
    assert (page.total, page.hits, page.query, page.suggestions) == (0, [], "", [])


def suggestion_texts(db_session, typed):
    return [(s.text, s.reason, s.restricted) for s in suggest(db_session, typed)]


def test_one_digit_wrong(records, db_session):
    assert suggestion_texts(db_session, "124/GPXD") == [("123/GPXD", "digit", False)]
    assert ("000.20.05.H26-190502-0007", "digit", False) in suggestion_texts(
        db_session, "000.20.05.H26-190502-0009")


def test_two_digits_swapped(records, db_session):
    assert suggestion_texts(db_session, "132/GPXD") == [("123/GPXD", "swap", False)]
    assert suggestion_texts(db_session, "000.20.05.H26-190520-0007") == [
        ("000.20.05.H26-190502-0007", "swap", False)]


def test_dossier_code_without_its_prefix(records, db_session):
    assert suggestion_texts(db_session, "20.05.H26-190502-0007") == [
        ("000.20.05.H26-190502-0007", "prefix", False)]
    # More of the front missing: matched by suffix.
    assert suggestion_texts(db_session, "H26-190502-0007") == [("000.20.05.H26-190502-0007", "prefix", False)]


def test_number_without_its_notation(records, db_session):
    assert suggestion_texts(db_session, "123") == [("123/GPXD", "suffix", False)]


def test_personal_results_are_suggested_only_with_notation_and_restricted(records, db_session):
    assert suggestion_texts(db_session, "78/KS") == [("77/KS", "digit", True)]
    assert suggestion_texts(db_session, "000.00.12.H26-250101-0002") == [
        ("000.00.12.H26-250101-0001", "digit", True)]
    assert suggestion_texts(db_session, "77") == []  # a prefix is a wildcard: never for personal results
    assert suggestion_texts(db_session, "5311") == []  # no notation: never


@pytest.mark.parametrize("part", ["H26-250101-0001", "12.H26-250101-0001", "00.12.H26-250101-0001"])
def test_part_of_a_personal_dossier_code_suggests_nothing(records, db_session, client, part):
    """Issue 13, item 5: the front of a dossier code missing (matched by suffix, or with its leading
    zeros put back) is a wildcard; it must not reveal a personal result's type, unit and status."""
    assert suggestion_texts(db_session, part) == []
    body = client.get("/api/v1/search", query_string={"q": part}).get_json()
    assert body["suggestions"] == []
    html = client.get("/search", query_string={"q": part}).get_data(as_text=True)
    assert "Trích lục kết hôn" not in html and "250101-0001" not in html.replace(part, "")


def test_suggestions_on_the_service_page(records, db_session):
    page = search_records(db_session, "124/GPXD", today=TODAY)
    assert [s.text for s in page.suggestions] == ["123/GPXD"]
    assert search_records(db_session, "123/GPXD", today=TODAY).suggestions == []


# -- pages and API -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["123/GPXD", "123 / gpxd", "000.20.05.H26-190502-0007",
                                   "0002005h261905020007"])
def test_an_identifier_goes_straight_to_its_match(records, client, typed):
    response = client.get("/search", query_string={"q": typed})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/results/{records['permit'].source_id}"


def test_a_personal_result_never_redirects(records, client):
    response = client.get("/search", query_string={"q": "77/KS"})
    assert response.status_code == 200
    assert "/results/" + records["marriage"].source_id not in response.get_data(as_text=True)


def test_a_procedure_code_goes_to_the_search_of_that_procedure(records, client):
    code = records["permit"].procedure_code
    for typed in (code, code.replace(".", ""), code.replace(".", " ")):
        response = client.get("/search", query_string={"q": typed})
        assert response.status_code == 302
        assert f"procedure={code}" in response.headers["Location"]
    # The procedure's name is the query, so its results come up even before a procedure filter.
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/results/{records['permit'].source_id}" in html


def test_a_personal_id_on_the_page_is_refused_and_not_echoed(records, client, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.get("/search", query_string={"q": "001085012345"})
    assert response.status_code == 303
    assert "001085012345" not in response.headers["Location"]
    response = client.get(response.headers["Location"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "001085012345" not in html
    assert "đăng nhập" in html
    assert "001085012345" not in caplog.text


def test_suggestions_on_the_page_and_in_the_api(records, client):
    html = client.get("/search", query_string={"q": "124/GPXD"}).get_data(as_text=True)
    assert "Có phải bạn muốn tìm" in html and "123/GPXD" in html
    body = client.get("/api/v1/search", query_string={"q": "78/KS"}).get_json()
    assert body["suggestions"] == [{
        "text": "77/KS", "kind": "result_number", "reason": "digit", "restricted": True,
        "doc_type_name": "Trích lục kết hôn", "issuing_unit": body["suggestions"][0]["issuing_unit"],
        "successor_units": body["suggestions"][0]["successor_units"], "status": "valid"}]
    assert "source_id" not in body["suggestions"][0]


def test_the_api_refuses_a_personal_id(records, client):
    body = client.get("/api/v1/search", query_string={"q": "001 085 012 345"}).get_json()
    assert body["total"] == 0 and body["hits"] == [] and body["query"] == ""
    assert body["notice"]["code"] == "personal_id"
