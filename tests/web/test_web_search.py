"""The search page: counts, hits, restricted hits, pagination, empty and degraded states."""

import re

import pytest

from portal.search import get_search
from portal.search.indexing import reindex
from portal.search.port import SearchUnavailable


def html_of(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.fixture
def indexed(db_session):
    def run():
        reindex(db_session, get_search)

    return run


def test_empty_query_shows_the_form_and_tips(client):
    html = html_of(client, "/search")
    assert 'name="q"' in html
    assert "Cách tra cứu" in html
    assert "Tìm thấy" not in html


def test_search_shows_count_and_hits_with_unit_date_and_status(client, make_record, indexed):
    record = make_record(summary="Cấp phép xây dựng nhà ở riêng lẻ tại phố Trần Thái Tông")
    indexed()
    html = html_of(client, "/search?q=tran+thai+tong")
    assert "Tìm thấy 1 kết quả" in html
    assert f'href="/results/{record.source_id}"' in html
    assert record.issuing_unit.name in html
    assert "14/05/2019" in html
    assert "Còn hiệu lực" in html
    assert "<mark>" in html  # highlights rendered as HTML, not escaped


def test_count_uses_vietnamese_thousands_separator(app):
    from flask_babel import force_locale

    from portal.views import number

    with app.test_request_context("/"), force_locale("vi"):
        assert number(1234) == "1.234"


def test_personal_hit_by_number_shows_type_unit_and_status_only(client, make_record, indexed):
    record = make_record(access="personal", doc_type_name="Trích lục kết hôn", doc_number="77",
                         doc_notation="KS", holder="Phạm Văn Đông",
                         summary="Đăng ký kết hôn với bà Lê Thị Hoa")
    indexed()
    html = html_of(client, "/search?q=77/KS")
    assert "Trích lục kết hôn" in html
    assert record.issuing_unit.name in html
    assert "chỉ hiển thị cho chính chủ sau khi đăng nhập" in html
    for secret in ("Phạm Văn Đông", "Lê Thị Hoa", f"/results/{record.source_id}", "77/KS</"):
        assert secret not in html, secret


def test_no_results_shows_tips(client, make_record, indexed):
    make_record()
    indexed()
    html = html_of(client, "/search?q=khongcogicaxyz")
    assert "Không tìm thấy kết quả nào" in html
    assert "không dấu" in html


def test_pagination_links(app, client, make_record, indexed):
    app.config["SEARCH_PER_PAGE"] = 2
    for _ in range(5):
        make_record()
    indexed()
    html = html_of(client, "/search?q=giay+phep+xay+dung&page=2")
    assert "Tìm thấy 5 kết quả" in html
    assert re.search(r'<a href="[^"]*page=2[^"]*" aria-current="page">2</a>', html)
    assert re.search(r'<a href="[^"]*page=1[^"]*" rel="prev">', html)
    assert re.search(r'<a href="[^"]*page=3[^"]*" rel="next">', html)
    assert html.count('<li class="hit') == 2


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999", "1e3", "3" * 40])
def test_bad_page_numbers_show_the_first_page(client, make_record, indexed, page):
    make_record()
    indexed()
    html = html_of(client, f"/search?q=giay+phep&page={page}")
    assert "Tìm thấy 1 kết quả" in html


def test_unknown_filters_are_ignored(client, make_record, indexed):
    make_record()
    indexed()
    html = html_of(client, "/search?q=giay+phep&status=nonsense&year=abcd&access=personal")
    assert "Tìm thấy 1 kết quả" in html


def test_status_filter(client, make_record, indexed):
    make_record(status="revoked")
    make_record()
    indexed()
    html = html_of(client, "/search?q=giay+phep&status=revoked")
    assert "Tìm thấy 1 kết quả" in html
    assert '<option value="revoked" selected>' in html


def test_degraded_search_says_so(app, client, make_record, monkeypatch):
    make_record()

    def down(*args, **kwargs):
        raise SearchUnavailable("test")

    monkeypatch.setattr(get_search(), "search", down)
    html = html_of(client, "/search?q=giay+phep")
    assert "Công cụ tìm kiếm đang bận; kết quả có thể chưa đầy đủ" in html
    assert "Tìm thấy 1 kết quả" in html


def test_facets_are_links_with_counts_and_active_filters_can_be_removed(client, make_record, indexed):
    from datetime import date

    old = make_record(issued_date=date(2015, 3, 1))
    new = make_record(issued_date=date(2023, 3, 1))
    indexed()
    html = html_of(client, "/search?q=giay+phep+xay+dung")
    assert "Năm ban hành" in html and "Đơn vị ban hành" in html and "Phường Phúc Xá" in html
    assert re.search(r'<a href="/search\?q=giay\+phep\+xay\+dung&amp;year=2015">2015</a>\s*'
                     r'<span class="facet-count">\(1\)</span>', html)
    narrowed = html_of(client, "/search?q=giay+phep+xay+dung&year=2015")
    assert f"/results/{old.source_id}" in narrowed and f"/results/{new.source_id}" not in narrowed
    assert "Bộ lọc đang dùng" in narrowed
    assert re.search(r'<a href="/search\?q=giay\+phep\+xay\+dung"\s+aria-label="Bỏ bộ lọc Năm ban hành">', narrowed)


def test_sort_select_orders_by_date_and_is_kept_by_links(client, make_record, indexed):
    from datetime import date

    old = make_record(issued_date=date(2015, 3, 1))
    new = make_record(issued_date=date(2023, 3, 1))
    indexed()
    html = html_of(client, "/search?q=giay+phep+xay+dung&sort=oldest")
    assert html.index(f"/results/{old.source_id}") < html.index(f"/results/{new.source_id}")
    assert '<option value="oldest" selected>' in html
    assert "sort=oldest&amp;year=2015" in html or "year=2015&amp;sort=oldest" in html
    newest = html_of(client, "/search?q=giay+phep+xay+dung&sort=newest")
    assert newest.index(f"/results/{new.source_id}") < newest.index(f"/results/{old.source_id}")


def test_past_the_browsable_hits_the_page_says_so(app, client, make_record, indexed, monkeypatch):
    from portal.search import service

    for _ in range(3):
        make_record()
    indexed()
    app.config["SEARCH_PER_PAGE"] = 1
    monkeypatch.setattr(service, "MAX_HITS", 2)  # 2 pages of 1 can be browsed, not 3
    html = html_of(client, "/search?q=giay+phep")
    assert "Tìm thấy 3 kết quả · trang 1/2" in html
    assert "Chỉ xem được 100.000 kết quả đầu tiên" in html
    assert 'aria-label="Trang 3"' not in html and 'aria-label="Trang 2"' in html
