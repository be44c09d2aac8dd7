"""One contract for every search adapter (CONVENTIONS 3.5): embedded always, Meilisearch with MEILI_URL."""

from __future__ import annotations

import os
import unicodedata
import uuid

import pytest

from portal.search.port import SearchQuery

needs_meili = pytest.mark.skipif(not os.environ.get("MEILI_URL"), reason="MEILI_URL not set")


def build_backend(name: str, tmp_path):
    if name == "embedded":
        from portal.search.adapters.embedded import EmbeddedBackend

        return EmbeddedBackend(tmp_path / "index")
    from portal.search.adapters.meili import MeiliBackend

    return MeiliBackend(os.environ["MEILI_URL"], os.environ.get("MEILI_KEY", ""),
                        f"test_{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["embedded", pytest.param("meilisearch", marks=needs_meili)])
def backend(request, tmp_path):
    backend = build_backend(request.param, tmp_path)
    yield backend
    if request.param == "meilisearch":
        backend.drop()


def doc(id, title="", *, number="", holder="", summary="", units=(), issuer="", access="public",
        status="valid", procedure_code="1.009994", unit="00167", current_unit=("00167",), year="2019"):
    return {"id": id, "title": title, "number": [number] if number else [], "holder": holder,
            "summary": summary, "issuer": issuer, "units": list(units), "access": access,
            "status": status, "procedure_code": procedure_code, "unit": unit,
            "current_unit": list(current_unit), "year": year, "issued_date": f"{year}-05-14",
            "digest": "d" + id}


def ids(page):
    return [hit.id for hit in page.hits]


def search(backend, text, **kw):
    return backend.search(SearchQuery(text, **kw))


CORPUS = [
    doc("gpxd", "Giấy phép xây dựng nhà ở riêng lẻ", number="123/GPXD",
        units=["Phường Dịch Vọng", "Quận Cầu Giấy", "Phường Cầu Giấy"], holder="Nguyễn Thị Lan"),
    doc("dkkd", "Giấy chứng nhận đăng ký hộ kinh doanh", number="45/ĐKKD",
        units=["Phường Đội Cấn", "Quận Ba Đình"], procedure_code="2.000720", unit="00004",
        current_unit=("00004",), year="2021", holder="Trần Văn Bình"),
    doc("khaisinh", "Giấy khai sinh", number="7/KS", access="personal", status="valid", year="2020",
        summary="Đăng ký khai sinh cho cháu Lê Minh Đức"),
]


@pytest.fixture
def corpus(backend):
    backend.upsert(CORPUS)
    return backend


def test_diacritics_are_ignored(corpus):
    assert ids(search(corpus, "giay phep xay dung cau giay")) == ["gpxd"]
    assert ids(search(corpus, "GIẤY PHÉP xây dựng Cầu Giấy")) == ["gpxd"]


def test_d_finds_đ(corpus):
    assert ids(search(corpus, "dang ky kinh doanh")) == ["dkkd"]
    assert ids(search(corpus, "doi can")) == ["dkkd"]
    assert ids(search(corpus, "dkkd")) == ["dkkd"]


def test_decomposed_input_is_folded(corpus):
    assert ids(search(corpus, unicodedata.normalize("NFD", "Giấy phép xây dựng"))) == ["gpxd"]


def test_decomposed_documents_are_found(backend):
    backend.upsert([doc("nfd", unicodedata.normalize("NFD", "Giấy chứng nhận quyền sử dụng đất"))])
    assert ids(search(backend, "quyen su dung dat")) == ["nfd"]


def test_every_word_must_match(corpus):
    assert ids(search(corpus, "giay phep kinh doanh")) == []
    assert sorted(ids(search(corpus, "giay"))) == ["dkkd", "gpxd", "khaisinh"]


def test_typo_in_a_word_of_four_letters_or_more(corpus):
    assert ids(search(corpus, "giay phep xay dnug")) == ["gpxd"]  # swapped letters
    assert ids(search(corpus, "chung nhan dang ky kinh doanhh")) == ["dkkd"]


def test_short_words_must_match_exactly(corpus):
    assert ids(search(corpus, "giay phep xay dun ca")) == []  # "ca" is not a typo of "cau"


def test_last_word_is_a_prefix(corpus):
    assert ids(search(corpus, "giay phep xay du")) == ["gpxd"]
    assert ids(search(corpus, "khai si")) == ["khaisinh"]


def test_exact_match_ranks_above_fuzzy(backend):
    # The typo'd document goes in first, so index order alone would put it first.
    backend.upsert([doc("fuzzy", "Giấy phép kinh doanb vận tải"),
                    doc("exact", "Giấy phép kinh doanh vận tải")])
    assert ids(search(backend, "kinh doanh van tai")) == ["exact", "fuzzy"]
    assert ids(search(backend, "kinh doanh")) == ["exact", "fuzzy"]


def test_number_ranks_above_summary(backend):
    backend.upsert([doc("in-summary", "Quyết định", summary="Thu hồi giấy phép số 88/QĐ"),
                    doc("in-number", "Quyết định", number="88/QĐ")])
    assert ids(search(backend, "88/QĐ")) == ["in-number", "in-summary"]


def test_filters_combine(corpus):
    assert sorted(ids(search(corpus, "giay", filters={"access": "public"}))) == ["dkkd", "gpxd"]
    assert ids(search(corpus, "giay", filters={"access": "public", "year": "2021"})) == ["dkkd"]
    assert ids(search(corpus, "giay", filters={"current_unit": "00167", "access": "public"})) == ["gpxd"]
    assert ids(search(corpus, "giay", filters={"procedure_code": "2.000720"})) == ["dkkd"]
    assert ids(search(corpus, "giay", filters={"unit": "00004", "status": "valid"})) == ["dkkd"]
    assert ids(search(corpus, "giay", filters={"status": "revoked"})) == []


def test_pagination_and_total(backend):
    backend.upsert([doc(f"r{i:02}", f"Giấy phép số {i}") for i in range(25)])
    first = search(backend, "giay phep", per_page=10)
    third = search(backend, "giay phep", page=3, per_page=10)
    beyond = search(backend, "giay phep", page=9, per_page=10)
    assert (first.total, len(first.hits)) == (25, 10)
    assert (third.total, len(third.hits)) == (25, 5)
    assert (beyond.total, beyond.hits) == (25, [])
    assert first.pages == 3
    second = search(backend, "giay phep", page=2, per_page=10)
    assert len(set(ids(first)) | set(ids(second)) | set(ids(third))) == 25


def test_highlight_keeps_original_diacritics(corpus):
    hit = search(corpus, "giay phep xay dung cau giay").hits[0]
    assert "<mark>Giấy</mark> <mark>phép</mark> <mark>xây</mark> <mark>dựng</mark>" in hit.highlights["title"]
    assert "<mark>Cầu</mark> <mark>Giấy</mark>" in hit.highlights["units"]


def test_highlight_escapes_html(backend):
    backend.upsert([doc("x", "Giấy <b>phép</b> & <script>")])
    title = search(backend, "giay phep").hits[0].highlights["title"]
    assert "<script>" not in title and "&lt;script&gt;" in title
    assert "<mark>phép</mark>" in title and "&amp;" in title


def test_upsert_replaces(corpus):
    corpus.upsert([doc("gpxd", "Giấy phép sửa chữa nhà")])
    assert ids(search(corpus, "xay dung")) == []
    assert ids(search(corpus, "sua chua")) == ["gpxd"]
    assert corpus.count() == 3


def test_remove(corpus):
    corpus.remove(["gpxd", "unknown"])
    assert ids(search(corpus, "giay phep xay dung")) == []
    assert corpus.count() == 2


def test_clear_and_fingerprints(corpus):
    assert corpus.fingerprints() == {d["id"]: d["digest"] for d in CORPUS}
    corpus.clear()
    assert corpus.count() == 0


def test_empty_query_finds_nothing(corpus):
    assert search(corpus, "  ").total == 0
