"""OCR into search, end to end: an imported result is found by a word printed only on its scan.

Real imports, real Tesseract, the real index; on SQLite and PostgreSQL like the rest of tests/search.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from ocr_scans import text_png
from sqlalchemy import select, update

from portal.db import utcnow
from portal.imports.service import run_import
from portal.ocr import services
from portal.ocr.reading import EngineMissing
from portal.records.documents import load_by_source_ids, to_document
from portal.records.models import DocumentText, TextStatus
from portal.search.port import SearchQuery
from tests.imports.builders import BatchBuilder, born_digital_pdf, png_scan

#: Printed on the public result's scan and in none of its fields (nor the units' names).
PUBLIC_WORDS = ["Thửa đất số 56 tại khu Mễ Trì Hạ", "Số định danh cá nhân: 001085012345"]
#: Printed on a personal result's scan only.
PERSONAL_WORDS = ["Người được cấp: Hoàng Thị Quyên"]


@pytest.fixture
def imported(app, db_session, tmp_path):
    """Three results: public with a scan, personal with a scan, public with a born-digital PDF."""
    batch = BatchBuilder(tmp_path / "batch")
    batch.add("OCR-PUBLIC", access="public", files=[batch.file("files/public.png", text_png(PUBLIC_WORDS))])
    batch.add("OCR-PERSONAL", access="personal", doc_number="124",
              files=[batch.file("files/personal.png", text_png(PERSONAL_WORDS))])
    batch.add("OCR-PDF", access="public", doc_number="125",
              files=[batch.file("files/layer.pdf", born_digital_pdf("Giay phep khai thac nuoc ngam tai Van Phuc"))])
    report = run_import(db_session, batch.write(), "cli:test")
    assert report.summary.get("created") == 3, report.summary
    assert app.test_cli_runner().invoke(args=["search", "drain"]).exit_code == 0  # indexed, before OCR
    return report


def search_page(client, q):
    return client.get("/search", query_string={"q": q}).get_data(as_text=True)


def test_a_result_is_found_by_a_word_only_on_its_scan_after_ocr_run(imported, client, runner, db_session):
    assert "OCR-PUBLIC" not in search_page(client, "me tri")  # before: metadata only

    result = runner.invoke(args=["ocr", "run"])
    assert result.exit_code == 0, result.output
    assert "read 3 files" in result.output

    page = search_page(client, "me tri")  # no diacritics typed
    assert "/results/OCR-PUBLIC" in page
    assert "Tìm thấy trong bản quét" in page
    assert "<mark>Mễ</mark> <mark>Trì</mark>" in page  # the snippet, as printed
    hit = client.get("/api/v1/search", query_string={"q": "me tri"}).get_json()["hits"][0]
    assert hit["source_id"] == "OCR-PUBLIC" and hit["found_in_scan"] is True
    assert "<mark>Trì</mark>" in hit["highlights"]["scan"]
    # Found by its metadata, the same result's hit says nothing about the scan.
    by_title = client.get("/api/v1/search", query_string={"q": "giay phep xay dung"}).get_json()["hits"]
    assert [h["found_in_scan"] for h in by_title if h["source_id"] == "OCR-PUBLIC"] == [False]


def test_a_personal_results_scan_text_never_reaches_the_index(imported, app, client, runner, db_session):
    from portal.search import get_search

    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    text = db_session.scalars(select(DocumentText.text).where(DocumentText.text.contains("Quyên"))).one()
    assert "Hoàng Thị Quyên" in text  # read and kept in the database…
    assert "OCR-PERSONAL" not in search_page(client, "hoang thi quyen")  # …never found anonymously
    assert client.get("/api/v1/search", query_string={"q": "hoang thi quyen"}).get_json()["hits"] == []
    # Not in the index at all, whatever the filter: no access=public filter, still no hit.
    assert get_search().search(SearchQuery("quyen")).hits == []


def test_id_numbers_on_a_public_scan_are_blanked_in_the_index(imported, runner, db_session):
    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    record = load_by_source_ids(db_session, ["OCR-PUBLIC"])["OCR-PUBLIC"]
    doc = to_document(record, utcnow().date())
    assert "Mễ Trì Hạ" in doc["scan"]
    assert "012345" not in doc["scan"] and "Số định danh cá nhân: …" in doc["scan"]


def test_a_pdf_text_layer_is_indexed_without_tesseract(imported, client, runner, db_session):
    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    row = db_session.scalars(select(DocumentText).where(DocumentText.method == "text-layer")).one()
    assert row.engine == "pdfium" and row.status == TextStatus.DONE
    hit = client.get("/api/v1/search", query_string={"q": "nuoc ngam van phuc"}).get_json()["hits"]
    assert [(h["source_id"], h["found_in_scan"]) for h in hit] == [("OCR-PDF", True)]


def test_status_counts_and_run_limit_resume_where_they_stopped(imported, runner):
    assert "pending           3" in runner.invoke(args=["ocr", "status"]).output
    assert runner.invoke(args=["ocr", "run", "--limit", "1"]).exit_code == 0
    status = runner.invoke(args=["ocr", "status"]).output
    assert "pending           2" in status and "done              1" in status
    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    status = runner.invoke(args=["ocr", "status"]).output
    assert "pending           0" in status and "done              3" in status


def test_a_killed_workers_claim_goes_stale_and_the_file_is_read_again(imported, app, db_session, runner):
    settings = services.Settings.from_config(app.config)
    services.enqueue_new(db_session)
    dead = services.claim_next(db_session, settings, set())  # a worker claims a file, then dies
    alive = services.claim_next(db_session, settings, set())  # another one is still reading its file
    assert alive.sha256 != dead.sha256  # never one file twice
    assert services.counts(db_session)["running"] == 2

    def age(sha):
        db_session.execute(update(DocumentText).where(DocumentText.document_sha256 == sha)
                           .values(claimed_at=utcnow() - timedelta(seconds=settings.stall_seconds + 1)))
        db_session.commit()

    age(dead.sha256)
    assert services.counts(db_session)["pending"] == 2  # the stale claim counts as waiting
    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    assert services.counts(db_session) == {"pending": 0, "running": 1, "done": 2, "failed": 0}
    age(alive.sha256)
    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    assert services.counts(db_session) == {"pending": 0, "running": 0, "done": 3, "failed": 0}


def test_without_tesseract_nothing_fails_and_the_command_says_what_to_install(imported, db_session, runner,
                                                                             monkeypatch):
    from portal.ocr import reading

    def missing(lang):
        raise EngineMissing("tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-vie")

    monkeypatch.setattr(reading, "engine_version", missing)
    result = runner.invoke(args=["ocr", "run"])
    assert result.exit_code == 1
    assert "apt-get install tesseract-ocr tesseract-ocr-vie" in result.output
    counts = services.counts(db_session)
    assert counts["failed"] == 0 and counts["running"] == 0
    assert counts["pending"] >= 2  # both scans wait for the machine to be fixed (the PDF needs no OCR)


def test_an_unreadable_file_fails_with_its_reason_and_can_be_retried(app, db_session, tmp_path, runner):
    from portal.files.store import FileStore

    batch = BatchBuilder(tmp_path / "batch")
    batch.add("OCR-BLANK", access="public", files=[batch.file("files/blank.png", png_scan())])
    run_import(db_session, batch.write(), "cli:test")
    sha = db_session.scalars(select(DocumentText.document_sha256)).first() or None
    store = FileStore.from_config(app.config)
    for path in store.root.rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x89PNG\r\n\x1a\n broken")  # the stored file went bad on disk
    assert sha is None  # no row yet: the stored file counts as pending all the same
    assert runner.invoke(args=["ocr", "run"]).exit_code == 0
    row = db_session.scalars(select(DocumentText)).one()
    assert row.status == TextStatus.FAILED and row.note.startswith("unreadable image/png")
    assert "failed            1" in runner.invoke(args=["ocr", "status"]).output
    assert "1 tệp thử lại" in runner.invoke(args=["ocr", "run", "--retry-failed"]).output
