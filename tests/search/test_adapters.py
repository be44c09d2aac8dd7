"""Adapter behaviour that needs no server: lazy opening, missing/corrupt index, Meilisearch offline."""

import os

import pytest

from portal.search.adapters.embedded import EmbeddedBackend
from portal.search.adapters.meili import MeiliBackend, _highlights
from portal.search.highlighting import highlight
from portal.search.port import SearchQuery, SearchUnavailable


def test_from_config_opens_nothing(tmp_path):
    backend = EmbeddedBackend.from_config({"SEARCH_INDEX_DIR": str(tmp_path / "idx")})
    assert not (tmp_path / "idx").exists()
    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery("giay"))


def test_corrupt_index_is_unavailable(tmp_path):
    backend = EmbeddedBackend(tmp_path / "idx")
    backend.upsert([{"id": "1", "title": "Giấy phép"}])
    live = (tmp_path / "idx" / "current").resolve()
    (live / "meta.json").write_text("{not json")
    fresh = EmbeddedBackend(tmp_path / "idx")  # another process
    with pytest.raises(SearchUnavailable):
        fresh.search(SearchQuery("giay"))


def test_a_second_process_sees_commits(tmp_path):
    writer, reader = EmbeddedBackend(tmp_path / "idx"), EmbeddedBackend(tmp_path / "idx")
    writer.upsert([{"id": "1", "title": "Giấy phép"}])
    assert reader.search(SearchQuery("giay")).total == 1
    writer.upsert([{"id": "2", "title": "Giấy phép"}])
    assert reader.search(SearchQuery("giay")).total == 2
    writer.rebuild([{"id": "3", "title": "Giấy phép"}])
    assert [h.id for h in reader.search(SearchQuery("giay")).hits] == ["3"]


def test_reopens_after_fork(tmp_path):
    backend = EmbeddedBackend(tmp_path / "idx")
    backend.upsert([{"id": "1", "title": "Giấy phép"}])
    backend.search(SearchQuery("giay"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must reopen its own index, not reuse the parent's
        try:
            total = backend.search(SearchQuery("giay")).total
            os.write(write, str(total).encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"1"


def test_highlight_marks_fuzzy_and_prefix_in_original_text():
    assert highlight("Giấy phép xây dựng", ["giay", "phep", "xay", "du"]) == \
        "<mark>Giấy</mark> <mark>phép</mark> <mark>xây</mark> <mark>dựng</mark>"
    assert highlight("Đăng ký kinh doanh", ["dnag"]) == "<mark>Đăng</mark> ký kinh doanh"  # a swap
    assert highlight("Đăng ký kinh doanh", ["dxyz"]) is None
    assert highlight("Đăng ký kinh doanh", ["doanb", "x"]) == "Đăng ký kinh <mark>doanh</mark>"
    long = "Mở đầu " + "chữ " * 100 + "Hoàng Quốc Việt " + "chữ " * 100
    cut = highlight(long, ["hoang"], max_chars=100)
    assert cut.startswith("…") and cut.endswith("…") and "<mark>Hoàng</mark>" in cut and len(cut) < 160


def test_meili_unreachable_is_unavailable():
    backend = MeiliBackend("http://127.0.0.1:9", "", "results")
    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery("giay"))


def test_meili_from_config_needs_a_url_and_connects_lazily():
    with pytest.raises(RuntimeError, match="MEILI_URL"):
        MeiliBackend.from_config({"MEILI_URL": ""})
    backend = MeiliBackend.from_config({"MEILI_URL": "http://127.0.0.1:9", "MEILI_KEY": "",
                                         "MEILI_INDEX": "r"})
    assert backend._client is None


def test_meili_highlights_are_escaped():
    formatted = {"title": "Giấy <b> \ue000phép\ue001", "units": ["Phường \ue000Cầu\ue001", "Quận X"],
                 "summary": "x"}
    assert _highlights(formatted) == {"title": "Giấy &lt;b&gt; <mark>phép</mark>",
                                      "units": "Phường <mark>Cầu</mark> · Quận X"}
