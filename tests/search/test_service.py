import shutil
from pathlib import Path

import pytest

from portal import outbox
from portal.records.index_queue import enqueue_remove, enqueue_upsert
from portal.search import get_search
from portal.search.indexing import check, drain_outbox, reindex
from portal.search.service import search_records
from tests.search.conftest import TODAY, get_unit


def rebuild(db_session):
    return reindex(db_session, get_search, today=TODAY)


def ids(page):
    return [hit.record.source_id for hit in page.hits]


@pytest.fixture
def records(app, db_session, make_record):
    made = {
        "permit": make_record(doc_number="123", doc_notation="GPXD", holder="Phạm Văn Đông",
                              summary="Cấp phép xây dựng nhà ở riêng lẻ tại số 12 phố Hoàng Quốc Việt"),
        "birth": make_record(doc_type_name="Trích lục kết hôn", doc_number="77", doc_notation="KS",
                             access="personal", holder="Phạm Văn Đông", summary="Đăng ký kết hôn",
                             dossier_code="000.00.12.H26-250101-0001"),
        "cau_giay": make_record(unit=get_unit(db_session, "00166", system="current"),
                                doc_type_name="Giấy chứng nhận đăng ký hộ kinh doanh", doc_notation="ĐKKD",
                                summary="Đăng ký hộ kinh doanh ăn uống", holder="Lê Thị Hoa"),
    }
    rebuild(db_session)
    return made


def test_empty_text_is_an_empty_page(app, db_session):
    page = search_records(db_session, "   ", today=TODAY)
    assert (page.total, page.hits, page.degraded) == (0, [], False)


@pytest.mark.parametrize("typed", ["77/KS", "77 / ks", " 77KS ", "000.00.12.H26-250101-0001",
                                   "000 00 12 h26 250101 0001"])
def test_identifier_finds_a_personal_result_restricted(records, db_session, typed):
    page = search_records(db_session, typed, today=TODAY)
    assert ids(page)[:1] == [records["birth"].source_id]
    assert page.hits[0].restricted is True


def test_identifier_of_a_public_result_is_first_and_not_repeated(records, db_session):
    page = search_records(db_session, "123/GPXD", today=TODAY)
    assert ids(page)[0] == records["permit"].source_id
    assert page.hits[0].restricted is False
    assert ids(page).count(records["permit"].source_id) == 1
    assert page.total == len(page.hits)


def test_a_name_search_never_returns_personal_results(records, db_session):
    page = search_records(db_session, "pham van dong", today=TODAY)
    assert ids(page) == [records["permit"].source_id]
    assert search_records(db_session, "trich luc ket hon", today=TODAY).total == 0


def test_search_by_old_and_by_new_unit_name(records, db_session):
    permit = records["permit"].source_id  # issued by Phường Nghĩa Tân (old), now Phường Nghĩa Đô
    assert ids(search_records(db_session, "giay phep nghia tan", today=TODAY)) == [permit]
    assert ids(search_records(db_session, "giay phep nghia do", today=TODAY)) == [permit]
    assert ids(search_records(db_session, "giay phep quan cau giay", today=TODAY)) == [permit]
    by_current = search_records(db_session, "giay", filters={"current_unit": "00160"}, today=TODAY)
    assert ids(by_current) == [permit]


def test_highlights_come_back_in_original_diacritics(records, db_session):
    hit = search_records(db_session, "hoang quoc viet", today=TODAY).hits[0]
    assert "<mark>Hoàng</mark> <mark>Quốc</mark> <mark>Việt</mark>" in hit.highlights["summary"]


def test_pages(records, db_session, make_record):
    for _ in range(5):
        make_record(summary="Xây dựng nhà ở riêng lẻ", commit=False)
    db_session.commit()
    rebuild(db_session)
    first = search_records(db_session, "xay dung nha o", per_page=4, today=TODAY)
    second = search_records(db_session, "xay dung nha o", page=2, per_page=4, today=TODAY)
    beyond = search_records(db_session, "xay dung nha o", page=5, per_page=4, today=TODAY)
    assert (first.total, len(first.hits), len(second.hits), beyond.hits) == (6, 4, 2, [])
    assert not set(ids(first)) & set(ids(second))


def test_degraded_fallback_when_the_index_is_gone(app, records, db_session):
    shutil.rmtree(Path(app.config["SEARCH_INDEX_DIR"]))
    page = search_records(db_session, "giay phep xay dung", today=TODAY)
    assert page.degraded is True
    assert ids(page) == [records["permit"].source_id]  # the personal result stays hidden
    folded = search_records(db_session, "DANG KY ho kinh doanh", today=TODAY)
    assert ids(folded) == [records["cau_giay"].source_id]  # unaccented words match accented columns
    assert "<mark>" in folded.hits[0].highlights["title"]
    # Identifier lookups don't need the engine at all.
    assert search_records(db_session, "77/ks", today=TODAY).hits[0].restricted


def test_degraded_fallback_reads_only_the_newest_results(app, db_session, make_record, monkeypatch):
    # A LIKE over a million records takes seconds: without the engine, the newest ones answer.
    from datetime import date

    from portal.search import service

    old = make_record(summary="Cấp phép sửa chữa cải tạo", issued_date=date(2015, 3, 1))
    new = make_record(summary="Cấp phép sửa chữa cải tạo", issued_date=date(2024, 3, 1))
    make_record(summary="Cấp phép xây dựng mới", issued_date=date(2025, 3, 1))
    shutil.rmtree(Path(app.config["SEARCH_INDEX_DIR"]), ignore_errors=True)
    monkeypatch.setattr(service, "FALLBACK_SCAN", 2)
    page = search_records(db_session, "sua chua cai tao", today=TODAY)
    assert page.degraded and ids(page) == [new.source_id] and page.total == 1
    monkeypatch.setattr(service, "FALLBACK_SCAN", 3)
    page = search_records(db_session, "sua chua cai tao", today=TODAY)
    assert ids(page) == [new.source_id, old.source_id]


def test_degraded_when_the_engine_fails_unexpectedly(app, records, db_session, monkeypatch):
    def broken(query):
        raise RuntimeError("boom")

    monkeypatch.setattr(get_search(), "search", broken)
    page = search_records(db_session, "giay phep", filters={"year": "2019"}, today=TODAY)
    assert page.degraded and ids(page) == [records["permit"].source_id]


def test_reindex_swaps_while_searches_keep_answering(app, records, db_session, make_record):
    backend = get_search()
    root = Path(app.config["SEARCH_INDEX_DIR"])
    before = (root / "current").resolve()
    added = make_record(summary="Sửa chữa cải tạo nhà")
    answers = []

    def documents(session, today, batch_size=1000):  # search in the middle of the rebuild
        from portal.records.documents import iter_documents as real

        for doc in real(session, today, batch_size):
            answers.append(search_records(db_session, "giay phep xay dung", today=TODAY).total)
            yield doc

    import portal.search.indexing as indexing

    original = indexing.iter_documents
    indexing.iter_documents = documents
    try:
        report = rebuild(db_session)
    finally:
        indexing.iter_documents = original
    assert report.count == 4
    assert answers and all(total >= 1 for total in answers)
    assert (root / "current").resolve() != before
    assert not before.exists()  # the old generation is cleaned up
    assert ids(search_records(db_session, "sua chua cai tao", today=TODAY)) == [added.source_id]
    assert backend.count() == 4


def test_check_reports_drift(app, records, db_session, make_record):
    assert check(db_session, today=TODAY).ok
    make_record(summary="Chưa lập chỉ mục")  # missing
    records["permit"].summary = "Đã sửa"  # stale
    db_session.commit()
    get_search().upsert([{"id": "GHOST-1", "title": "Không có trong CSDL", "access": "public"}])  # extra
    report = check(db_session, today=TODAY)
    assert (len(report.missing), len(report.extra), len(report.stale)) == (1, 1, 1)
    assert report.extra == ["GHOST-1"] and report.stale == [records["permit"].source_id]
    assert not report.ok


def test_outbox_drain_applies_upserts_and_removes(app, records, db_session, make_record):
    new = make_record(summary="Cấp phép chặt hạ cây xanh")
    assert search_records(db_session, "chat ha cay xanh", today=TODAY).total == 0
    enqueue_upsert(db_session, new)
    permit = records["permit"]
    source_id = permit.source_id
    db_session.delete(permit)
    enqueue_remove(db_session, source_id)
    db_session.commit()
    assert drain_outbox(db_session, today=TODAY) == 2
    assert ids(search_records(db_session, "chat ha cay xanh", today=TODAY)) == [new.source_id]
    assert search_records(db_session, "hoang quoc viet", today=TODAY).total == 0
    assert outbox.pending(db_session) == 0
    assert drain_outbox(db_session, today=TODAY) == 0


def test_huey_task_drains_after_commit(app, records, db_session, make_record):
    from portal.search.tasks import nudge

    new = make_record(summary="Giấy phép khai thác nước ngầm")
    enqueue_upsert(db_session, new)
    db_session.commit()
    nudge()  # huey is immediate in tests
    assert ids(search_records(db_session, "khai thac nuoc ngam")) == [new.source_id]
    assert outbox.pending(db_session) == 0
