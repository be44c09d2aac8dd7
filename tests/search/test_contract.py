"""One contract for every search adapter (CONVENTIONS 3.5): embedded always, Meilisearch with MEILI_URL."""

from __future__ import annotations

import os
import unicodedata
import uuid

import pytest

from portal.search.port import SearchBackend, SearchQuery

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
        status="valid", procedure_code="1.009994", unit="00167", current_unit=("00167",), year="2019",
        scan=""):
    return {"id": id, "title": title, "number": [number] if number else [], "holder": holder,
            "summary": summary, "issuer": issuer, "units": list(units), "scan": scan, "access": access,
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


def test_a_page_of_exact_matches_has_no_typo_matches(backend):
    # Exact matches outrank typo matches: when they fill the page, none of the typo ones shows.
    backend.upsert([doc("fuzzy", "Giấy phép kinh doanb vận tải")]
                   + [doc(f"exact{i}", "Giấy phép kinh doanh vận tải") for i in range(25)])
    page = search(backend, "kinh doanh van tai", per_page=20)
    assert len(page.hits) == 20 and "fuzzy" not in ids(page)
    assert search(backend, "kinh doanb van tai").hits[0].id == "fuzzy"


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


def test_the_adapter_has_every_method_of_the_port(backend):
    declared = {name for name in vars(SearchBackend) if not name.startswith("_")}
    assert declared >= {"search", "upsert", "remove", "rebuild", "fingerprints", "count", "clear"}
    assert all(callable(getattr(backend, name, None)) for name in declared), declared


def test_rebuild_replaces_every_document_and_reports_progress(corpus):
    counts = []
    fresh = [doc("nuoc", "Giấy phép khai thác nước ngầm", number="9/GP"), CORPUS[0]]
    assert corpus.rebuild(iter(fresh), progress=counts.append) == 2
    assert counts and counts[-1] == 2
    assert corpus.count() == 2
    assert ids(search(corpus, "khai thac nuoc ngam")) == ["nuoc"]
    assert ids(search(corpus, "dang ky kinh doanh")) == []  # not in the rebuild: gone
    assert corpus.fingerprints() == {"nuoc": "dnuoc", "gpxd": "dgpxd"}
    corpus.upsert([doc("dkkd", "Giấy chứng nhận đăng ký hộ kinh doanh")])  # writes go to the new index
    assert ids(search(corpus, "dang ky kinh doanh")) == ["dkkd"]


def test_rebuild_of_an_index_never_built(backend):
    assert backend.rebuild(iter(CORPUS)) == 3
    assert ids(search(backend, "giay phep xay dung cau giay")) == ["gpxd"]
    assert backend.fingerprints() == {d["id"]: d["digest"] for d in CORPUS}


def test_empty_query_finds_nothing(corpus):
    assert search(corpus, "  ").total == 0


def test_facets_count_every_hit_of_the_query_and_its_filters(corpus):
    page = search(corpus, "giay", filters={"access": "public"}, per_page=1,
                  facets=("procedure_code", "unit", "current_unit", "year", "status"))
    assert page.facets == {
        "procedure_code": [("1.009994", 1), ("2.000720", 1)],
        "unit": [("00004", 1), ("00167", 1)],
        "current_unit": [("00004", 1), ("00167", 1)],
        "year": [("2019", 1), ("2021", 1)],
        "status": [("valid", 2)],
    }
    narrowed = search(corpus, "giay", filters={"access": "public", "year": "2021"}, facets=("unit",))
    assert narrowed.facets == {"unit": [("00004", 1)]}
    assert search(corpus, "giay").facets == {}  # counted only when asked for


def test_facets_most_frequent_first(backend):
    backend.upsert([doc(f"a{i}", "Giấy phép", year="2020") for i in range(3)]
                   + [doc("b", "Giấy phép", year="2018"), doc("c", "Giấy phép", year="2023")])
    assert search(backend, "giay phep", facets=("year",)).facets["year"] == [
        ("2020", 3), ("2018", 1), ("2023", 1)]


def test_sort_by_date(backend):
    backend.upsert([doc("old", "Giấy phép xây dựng", year="2015"),
                    doc("new", "Giấy phép", summary="xây dựng", year="2024"),
                    doc("mid", "Giấy phép", summary="xây dựng nhà", year="2019")])
    assert ids(search(backend, "giay phep xay dung"))[0] == "old"  # relevance: the title holds it all
    assert ids(search(backend, "giay phep xay dung", sort="newest")) == ["new", "mid", "old"]
    assert ids(search(backend, "giay phep xay dung", sort="oldest")) == ["old", "mid", "new"]
    assert ids(search(backend, "giay phep", sort="oldest", page=2, per_page=2)) == ["new"]


def test_adjacent_words_in_order_rank_higher(backend):
    backend.upsert([doc("scattered", "Giấy phép", summary="Nhà số 26 phố Hùng Vương, cạnh đường Trần Duy Tân"),
                    doc("phrase", "Giấy phép", summary="Nhà số 26 phố Trần Duy Hưng, gần cầu Vương")])
    assert ids(search(backend, "tran duy hung")) == ["phrase", "scattered"]


def test_holder_ranks_above_title_above_summary(backend):
    backend.upsert([doc("summary", "Quyết định", summary="Giao đất cho ông Hoàng Văn Minh"),
                    doc("title", "Quyết định giao đất Hoàng Văn Minh"),
                    doc("holder", "Quyết định", holder="Hoàng Văn Minh")])
    assert ids(search(backend, "hoang van minh")) == ["holder", "title", "summary"]


def test_exclude_leaves_ids_out_and_offset_pages_from_any_hit(backend):
    backend.upsert([doc(f"r{i}", "Giấy phép", year=str(2000 + i)) for i in range(6)])
    page = search(backend, "giay phep", sort="newest", exclude=("r5", "r3"), offset=1, per_page=2)
    assert (page.total, ids(page)) == (4, ["r2", "r1"])


def test_deep_pages_stop_at_max_hits(backend, monkeypatch):
    from portal.search import port

    backend.upsert([doc(f"r{i:02}", "Giấy phép") for i in range(12)])
    monkeypatch.setattr(port, "MAX_HITS", 10)
    monkeypatch.setattr(f"{type(backend).__module__}.MAX_HITS", 10)
    assert len(search(backend, "giay phep", page=2, per_page=8).hits) == 2
    assert search(backend, "giay phep", page=3, per_page=8).hits == []


#: A page of text as OCR gives it (portal/ocr): long, with the distinctive words far down.
SCAN = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc " * 12
        + "Thửa đất số 56, tờ bản đồ số 7 tại khu Mễ Trì Hạ. " + "Nơi nhận: Như trên; Lưu: VT, hồ sơ. " * 10)


def test_a_word_only_on_the_scan_finds_the_result_ranked_below_the_fields(backend):
    """The scan text is the weakest field: found by it, below a result that has the word in a field
    of its own, and highlighted as a snippet around the match, not the whole page."""
    backend.upsert([doc("scan", "Giấy phép xây dựng", summary="Nhà ở riêng lẻ", scan=SCAN),
                    doc("summary", "Quyết định", summary="Giao đất tại khu Mễ Trì Hạ"),
                    doc("other", "Giấy phép xây dựng", scan="Phường Mỹ Đình")])
    page = search(backend, "me tri ha")
    assert ids(page) == ["summary", "scan"]
    marked = page.hits[1].highlights["scan"]
    assert "<mark>Mễ</mark> <mark>Trì</mark> <mark>Hạ</mark>" in marked
    assert len(marked) < len(SCAN) // 2
    assert "scan" not in page.hits[0].highlights
    assert ids(search(backend, "my dinh")) == ["other"]
