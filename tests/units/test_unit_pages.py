"""Unit pages across the 1 July 2025 merger, with real units from the reference data."""

import pytest

from portal.search import get_search
from portal.search.indexing import reindex
from portal.search.service import search_records
from tests.search.conftest import TODAY, get_unit

# Real rows: Phường Nghĩa Tân (legacy 00160) went wholly into Phường Nghĩa Đô (current 00160);
# Phường Dịch Vọng (legacy 00166) was split between Nghĩa Đô and Cầu Giấy; Phường Điện Biên
# (legacy 00019) was split four ways; "phuong-nghia-do" is both a legacy and a current slug.


@pytest.fixture
def records(app, db_session, make_record):
    made = {
        "nghia_tan": make_record(unit=get_unit(db_session, "00160"), summary="Nhà ở tại Nghĩa Tân"),
        "dich_vong": make_record(unit=get_unit(db_session, "00166"), summary="Nhà ở tại Dịch Vọng"),
        "dien_bien": make_record(unit=get_unit(db_session, "00019"), summary="Nhà ở tại Điện Biên"),
        "personal": make_record(unit=get_unit(db_session, "00160"), access="personal",
                                doc_type_name="Trích lục khai sinh"),
    }
    reindex(db_session, get_search, today=TODAY)
    return made


def ids(page):
    return [hit.record.source_id for hit in page.hits]


def test_old_and_new_names_find_results_of_split_units(records, db_session):
    dich_vong = records["dich_vong"].source_id
    assert dich_vong in ids(search_records(db_session, "dich vong", today=TODAY))
    assert dich_vong in ids(search_records(db_session, "nghia do", today=TODAY))
    assert dich_vong in ids(search_records(db_session, "phuong cau giay", today=TODAY))
    dien_bien = records["dien_bien"].source_id
    for name in ("ba dinh", "hoan kiem", "o cho dua", "van mieu quoc tu giam"):
        assert dien_bien in ids(search_records(db_session, f"giay phep {name}", today=TODAY)), name


def test_search_page_shows_the_successor_and_links_unit_pages(records, client):
    html = client.get("/search", query_string={"q": "dien bien"}).get_data(as_text=True)
    assert "Phường Điện Biên" in html and "Phường Hoàn Kiếm" in html and "một phần" in html
    assert 'href="/units/legacy/phuong-dien-bien"' in html
    assert 'href="/units/phuong-hoan-kiem"' in html


def test_units_index_lists_126_current_units_with_counts(records, client):
    html = client.get("/units").get_data(as_text=True)
    assert html.count('<li><a href="/units/') == 126
    assert 'href="/units/phuong-nghia-do"' in html


def test_current_unit_page_lists_results_of_every_merged_unit(records, client):
    response = client.get("/units/phuong-nghia-do")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Phường Nghĩa Đô" in html and "00160" in html
    assert "Phường Nghĩa Tân" in html and "Phường Dịch Vọng" in html
    assert "Nhà ở tại Nghĩa Tân" in html and "Nhà ở tại Dịch Vọng" in html
    assert "Nhà ở tại Điện Biên" not in html
    assert "Trích lục khai sinh" not in html  # personal results are never listed
    # Dịch Vọng went only partly into Nghĩa Đô: marked.
    dich_vong = html.split("Phường Dịch Vọng</a>")[1].split("</li>")[0]
    assert "một phần" in dich_vong


def test_a_split_old_unit_is_listed_in_each_successor(records, client):
    for slug in ("phuong-ba-dinh", "phuong-hoan-kiem", "phuong-o-cho-dua", "phuong-van-mieu-quoc-tu-giam"):
        assert "Nhà ở tại Điện Biên" in client.get(f"/units/{slug}").get_data(as_text=True), slug


def test_old_unit_with_one_successor_redirects_permanently(records, client):
    response = client.get("/units/phuong-phuc-xa")  # Phúc Xá → Hồng Hà, wholly
    assert (response.status_code, response.headers["Location"]) == (301, "/units/phuong-hong-ha")
    response = client.get("/units/legacy/phuong-nghia-tan")
    assert (response.status_code, response.headers["Location"]) == (301, "/units/phuong-nghia-do")


def test_old_unit_split_several_ways_lists_its_successors(records, client):
    response = client.get("/units/phuong-dien-bien")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for slug in ("phuong-ba-dinh", "phuong-hoan-kiem", "phuong-o-cho-dua", "phuong-van-mieu-quoc-tu-giam"):
        assert f'href="/units/{slug}"' in html
    assert html.count("(một phần)") >= 4
    assert "Nhà ở tại Điện Biên" in html


def test_current_slug_wins_legacy_is_reachable(records, client):
    assert client.get("/units/phuong-nghia-do").status_code == 200  # the current Nghĩa Đô page
    legacy = client.get("/units/legacy/phuong-nghia-do")  # the old Nghĩa Đô
    assert legacy.status_code == 200


def test_old_url_shapes_redirect(records, client):
    response = client.get("/don-vi/phuong-phuc-xa")
    assert (response.status_code, response.headers["Location"]) == (301, "/units/legacy/phuong-phuc-xa")
    response = client.get("/don-vi/phuong-nghia-do")
    assert (response.status_code, response.headers["Location"]) == (301, "/units/phuong-nghia-do")
    assert client.get("/don-vi/khong-co").status_code == 404
    assert client.get("/units/khong-co").status_code == 404


def test_unit_pages_paginate(app, db_session, make_record, client):
    for _ in range(app.config["SEARCH_PER_PAGE"] + 1):
        make_record(unit=get_unit(db_session, "00160"), commit=False)
    db_session.commit()
    html = client.get("/units/phuong-nghia-do?page=2").get_data(as_text=True)
    assert 'aria-current="page">2<' in html


def test_an_old_district_lists_its_successors_and_its_communes_results(records, client):
    response = client.get("/units/quan-cau-giay")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/units/phuong-nghia-do"' in html and 'href="/units/phuong-cau-giay"' in html
    assert "Nhà ở tại Nghĩa Tân" in html and "Nhà ở tại Dịch Vọng" in html


def test_result_page_links_its_units(records, client):
    html = client.get(f"/results/{records['dich_vong'].source_id}").get_data(as_text=True)
    assert 'href="/units/legacy/phuong-dich-vong"' in html
    assert 'href="/units/phuong-nghia-do"' in html and 'href="/units/phuong-cau-giay"' in html


def test_a_current_unit_counts_as_many_results_as_it_lists(records, db_session):
    """The unit page takes its total from the per-unit counts (portal.figures): the same rule."""
    from portal.records.services import count_public_results, list_unit_results
    from portal.units import services as units

    counts = count_public_results(db_session)
    for slug in ("phuong-nghia-do", "phuong-cau-giay", "phuong-ba-dinh", "phuong-hoan-kiem", "phuong-hong-ha"):
        unit = units.find_current_unit(db_session, slug)
        listed = list_unit_results(db_session, unit, per_page=100)
        assert listed.total == len(listed.hits) == counts.get(unit.id, 0), slug
    assert counts[units.find_current_unit(db_session, "phuong-nghia-do").id] == 2  # Nghĩa Tân, Dịch Vọng


def test_counts_over_every_result_are_kept_a_while_outside_tests(make_app, make_record, db_session):
    from portal import figures

    app = make_app(PUBLIC_COUNTS_MAX_AGE=300)
    with app.app_context():
        figures.forget()
        client = app.test_client()
        make_record(unit=get_unit(db_session, "00160"))
        first = client.get("/units/phuong-nghia-do").get_data(as_text=True)
        make_record(unit=get_unit(db_session, "00160"))
        assert client.get("/units/phuong-nghia-do").get_data(as_text=True).count('class="hit"') == 2
        kept = client.get("/units").get_data(as_text=True)
        figures.forget()
        assert client.get("/units").get_data(as_text=True) != kept  # counted anew: 2, not 1
        assert first
