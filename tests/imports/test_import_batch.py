"""Importing batches: good lines go in, bad lines are refused precisely, nothing doubles."""

from __future__ import annotations

import json
import resource
import time

import sqlalchemy as sa
from builders import DROP, born_digital_pdf, corrupt_pdf, dump, jpeg_scan, pdf_scan, png_scan, zip_batch

from portal.files.store import FileStore
from portal.identity.models import Subject
from portal.imports.models import ImportLine
from portal.imports.service import render_report
from portal.outbox import OutboxItem
from portal.records.models import Document, Record, StatusChange
from tests.files.hostile import html_polyglot, many_pages_pdf, page_tree_bomb, png_bomb


def _lines(session, batch_id):
    return {
        line.line_no: line
        for line in session.scalars(sa.select(ImportLine).where(ImportLine.batch_id == batch_id))
    }


def test_a_good_batch_goes_in(app, db_session, batch, do_import):
    pdf = batch.file("files/gpxd-000123.pdf", pdf_scan(dpi=300, pages=2))
    jpeg = batch.file("files/attachment.jpg", jpeg_scan(dpi=250)) | {"role": "attachment"}
    batch.add("HN-CAUGIAY-GPXD-2019-000123", files=[pdf, jpeg])
    batch.add(
        "HN-CAUGIAY-GPXD-2019-000124",
        doc_number="124",
        files=[pdf],
        subject={
            "type": "organization",
            "id_number": "0101234567-001",
            "name": "Công ty TNHH An Bình",
            "birth_date": None,
        },
        access="public",
    )
    batch.add(
        "HN-KS-1",
        procedure_code="1.001193",
        doc_type_name="Giấy khai sinh",
        doc_number="15",
        doc_notation=None,
        dossier_code=DROP,
        files=[batch.file("files/ks.pdf", born_digital_pdf())],
        admin_unit={"code": "00004", "system": "current"},
    )

    result = do_import(batch.write())

    assert result.status == "completed", render_report(db_session, result)
    assert result.summary == {"read": 3, "created": 3, "updated": 0, "unchanged": 0, "refused": 0}
    record = db_session.scalar(sa.select(Record).where(Record.source_id == "HN-CAUGIAY-GPXD-2019-000123"))
    assert record.issuing_unit.code == "00167" and record.issuing_unit.system == "legacy"
    assert record.number_key == "123gpxd" and record.dossier_key == "0002005h261905020007"
    assert record.subject.id_number == "001085012345" and record.status == "valid"
    assert [
        (f.role, f.position, f.document.media_type, f.document.pages, f.document.dpi) for f in record.files
    ] == [("result", 0, "application/pdf", 2, 300), ("attachment", 1, "image/jpeg", 1, 250)]
    assert record.digitized_at.utcoffset().total_seconds() == 0 and record.digitized_at.hour == 2
    assert record.status_history == []  # created with the status sent: no change to record
    org = db_session.scalar(sa.select(Subject).where(Subject.kind == "organization"))
    assert org.id_number == "0101234567-001"
    born = db_session.get(Document, json.loads(batch.lines[2])["files"][0]["sha256"])
    assert born.dpi is None and born.pages == 1  # born-digital: no scan, no resolution

    store = FileStore(app.config["FILES_ROOT"])
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Document)) == 3  # the PDF stored once
    for document in db_session.scalars(sa.select(Document)):
        path = store.path_for(document.sha256)
        assert path.parent.parent.name == document.sha256[:2] and path.parent.name == document.sha256[2:4]
        assert (
            path.read_bytes()
            == batch.files[
                {f["sha256"]: f["path"] for line in batch.lines for f in json.loads(line)["files"]}[
                    document.sha256
                ]
            ]
        )
    assert sorted(
        db_session.scalars(sa.select(OutboxItem.key).where(OutboxItem.topic == "search.upsert"))
    ) == ["HN-CAUGIAY-GPXD-2019-000123", "HN-CAUGIAY-GPXD-2019-000124", "HN-KS-1"]
    assert "Từ chối / refused: 0" in render_report(db_session, result)


def test_bad_lines_are_refused_precisely_and_the_good_ones_go_in(db_session, batch, do_import):
    good = batch.file("files/good.png", png_scan(dpi=300))
    wrong_sum = good | {"sha256": "0" * 64}
    batch.add("GOOD-1", files=[good])  # line 1
    batch.add("BAD-CHECKSUM", files=[wrong_sum])  # 2
    batch.add("BAD-MISSING", summary=DROP, files=[good])  # 3
    batch.add("BAD-FUTURE", issued_date="2031-01-01", files=[good])  # 4
    batch.add("BAD-ID", subject={"id_number": "12345"}, files=[good])  # 5
    batch.add("BAD-DPI", files=[batch.file("files/low.pdf", pdf_scan(dpi=150))])  # 6
    batch.add("BAD-PDF", files=[batch.file("files/broken.pdf", corrupt_pdf())])  # 7
    batch.raw('{"source_id": "BAD-JSON", "procedure_code": ')  # 8
    batch.raw("")  # 9 (blank: ignored)
    batch.add("BAD-UNIT", admin_unit={"code": "99999"}, files=[good])  # 10
    batch.add("BAD-PROC", procedure_code="9.99999", files=[good])  # 11 (malformed; unknown is no fault)
    batch.add("BAD-VALIDITY", valid_from="2020-01-01", valid_to="2019-12-31", files=[good])  # 12
    batch.add("GOOD-1", files=[good])  # 13 duplicate
    batch.add("BAD-PATH", files=[good | {"path": "../outside.png"}])  # 14
    batch.add("BAD-ENUM", status="lost", access="everyone", files=[good])  # 15
    batch.add("BAD-NOFILE", files=[])  # 16
    batch.add("GOOD-2", doc_number="2", files=[good])  # 17

    result = do_import(batch.write())

    assert result.summary == {"read": 16, "created": 2, "updated": 0, "unchanged": 0, "refused": 14}
    assert sorted(db_session.scalars(sa.select(Record.source_id))) == ["GOOD-1", "GOOD-2"]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1  # nothing of bad lines
    lines = _lines(db_session, result.id)
    assert 9 not in lines

    def only(line_no):
        assert lines[line_no].outcome == "refused", line_no
        (problem,) = lines[line_no].errors
        return problem

    assert only(2)["field"] == "files[0].sha256" and "không khớp" in only(2)["vi"]
    assert only(3) == {
        "severity": "error",
        "field": "summary",
        "code": "required",
        "vi": "Thiếu Trích yếu (summary)",
        "en": "summary is required",
    }
    assert only(4) == {
        "severity": "error",
        "field": "issued_date",
        "code": "future_date",
        "vi": "Ngày ban hành 2031-01-01 ở tương lai",
        "en": "issued_date 2031-01-01 is in the future",
    }
    assert only(5)["field"] == "subject.id_number" and "12 digits" in only(5)["en"]
    assert (
        only(6)["code"] == "low_dpi"
        and "150 dpi" in only(6)["en"]
        and "dưới mức tối thiểu 200" in only(6)["vi"]
    )
    assert only(7)["code"] == "unreadable_corrupt" and "PDF" in only(7)["en"]
    assert only(8)["code"] == "invalid_json" and lines[8].source_id is None
    assert only(10)["field"] == "admin_unit.code" and only(10)["code"] == "unknown_unit"
    assert only(11)["field"] == "procedure_code" and only(11)["code"] == "format"
    assert only(12)["field"] == "valid_to" and only(12)["code"] == "before_valid_from"
    assert only(13)["code"] == "duplicate" and "line 1" in only(13)["en"]
    assert only(14)["code"] == "outside_batch"
    assert {e["field"] for e in lines[15].errors} == {"status", "access"}
    assert only(16)["field"] == "files"

    report = render_report(db_session, result)
    assert "dòng / line 4 · BAD-FUTURE" in report
    assert (
        "issued_date: Ngày ban hành 2031-01-01 ở tương lai / issued_date 2031-01-01 is in the future"
        in report
    )
    assert "Đọc / read: 16" in report and "Từ chối / refused: 14" in report


def test_hostile_files_in_a_batch_are_refused_line_by_line_within_the_budgets(db_session, batch, do_import):
    # The security test's files (issue 13), inspected in the importing process with the same budgets.
    good = batch.file("files/good.png", png_scan(dpi=300))
    batch.add("GOOD-1", files=[good])  # line 1
    batch.add("BAD-TREE", files=[batch.file("files/tree.pdf", page_tree_bomb(200, 60_000))])  # 2
    batch.add("BAD-PIXELS", files=[batch.file("files/huge.png", png_bomb(13_000, 13_000))])  # 3
    batch.add("BAD-HTML", files=[batch.file("files/polyglot.html.pdf", html_polyglot(pdf_scan()))])  # 4
    batch.add("BAD-PAGES", files=[batch.file("files/long.pdf", many_pages_pdf(501))])  # 5
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    result = do_import(batch.write())
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak < 100
    assert result.summary == {"read": 5, "created": 1, "updated": 0, "unchanged": 0, "refused": 4}
    lines = _lines(db_session, result.id)
    (tree,), (pixels,), (html,), (pages,) = (lines[n].errors for n in (2, 3, 4, 5))
    assert tree["code"] == "unreadable_page_tree"
    assert tree["vi"] == ("Tệp files/tree.pdf: Danh sách trang của tệp PDF không hợp lệ "
                          "(một trang hoặc nhánh được liệt kê nhiều lần)")
    assert pixels["code"] == "unreadable_too_many_pixels"
    assert pixels["vi"] == ("Tệp files/huge.png: Ảnh có 169 triệu điểm ảnh, "
                            "vượt quá 100 triệu điểm ảnh cho một ảnh")
    assert html["code"] == "unreadable_polyglot"
    assert pages["code"] == "unreadable_too_many_pages"
    assert pages["vi"] == "Tệp files/long.pdf: Tệp có 501 trang, tối đa 500 trang"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_the_same_batch_twice_changes_nothing(db_session, batch, do_import):
    for n in range(5):
        batch.add(f"R-{n}", doc_number=str(n), files=[batch.file(f"files/{n}.png", png_scan(shade=n))])
    batch.raw("not json")
    path = batch.write()
    first = do_import(path)
    before = dump(db_session)

    second = do_import(path)

    assert second.id != first.id
    assert second.summary == {"read": 6, "created": 0, "updated": 0, "unchanged": 5, "refused": 1}
    after = dump(db_session)
    for table in ("record", "subject", "document", "record_file", "status_change", "outbox"):
        assert after[table] == before[table], table


def test_a_changed_line_updates_its_record(db_session, batch, do_import, tmp_path):
    batch.add("R-1", files=[batch.file("files/a.png", png_scan(shade=1))])
    first = do_import(batch.write())
    record_id = db_session.scalar(sa.select(Record.id).where(Record.source_id == "R-1"))

    batch.lines.clear()
    batch.add(
        "R-1",
        summary="Đã sửa trích yếu",
        status="revoked",
        subject={"name": "Nguyễn Thị Lan Anh"},
        files=[batch.file("files/b.png", png_scan(shade=2)), batch.file("files/a.png", png_scan(shade=1))],
    )
    second = do_import(batch.write())

    assert second.summary["updated"] == 1 and first.summary["created"] == 1
    record = db_session.scalar(sa.select(Record).where(Record.source_id == "R-1"))
    assert record.id == record_id and record.summary == "Đã sửa trích yếu" and record.status == "revoked"
    assert record.subject.name == "Nguyễn Thị Lan Anh"
    assert [f.original_path for f in record.files] == ["files/b.png", "files/a.png"]
    assert [(c.old_status, c.new_status, c.actor, c.reason) for c in record.status_history] == [
        ("valid", "revoked", f"import:{second.id}", "status sent in the batch")
    ]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Record)) == 1
    assert db_session.scalar(sa.select(sa.func.count()).select_from(OutboxItem)) == 2


def _status(session, source_id):
    return session.scalar(sa.select(Record.status).where(Record.source_id == source_id))


def test_replaces_when_the_old_result_is_already_there(db_session, batch, do_import, tmp_path):
    batch.add("OLD", files=[batch.file("files/old.png", png_scan(shade=1))])
    do_import(batch.write())
    batch.lines.clear()
    batch.add("NEW", doc_number="124", replaces="OLD", files=[batch.file("files/new.png", png_scan(shade=2))])
    run = do_import(batch.write())

    assert _status(db_session, "OLD") == "replaced" and _status(db_session, "NEW") == "valid"
    changes = db_session.execute(
        sa.select(StatusChange.old_status, StatusChange.new_status, StatusChange.actor, StatusChange.reason)
        .join(Record)
        .where(Record.source_id == "OLD")
        .order_by(StatusChange.id)
    ).all()
    assert changes[-1] == ("valid", "replaced", f"import:{run.id}", "replaced by NEW")
    assert (
        db_session.scalar(sa.select(sa.func.count()).select_from(OutboxItem).where(OutboxItem.key == "OLD"))
        == 2
    )


def test_replaces_when_the_new_result_arrives_first(db_session, batch, do_import):
    batch.add("NEW", doc_number="124", replaces="OLD", files=[batch.file("files/new.png", png_scan(shade=2))])
    batch.add("OLD", files=[batch.file("files/old.png", png_scan(shade=1))])
    result = do_import(batch.write())

    assert result.summary["created"] == 2
    assert _status(db_session, "OLD") == "replaced" and _status(db_session, "NEW") == "valid"
    again = do_import(batch.root)
    assert again.summary["unchanged"] == 2 and _status(db_session, "OLD") == "replaced"


def test_replaces_across_batches_in_reverse_order(db_session, batch, do_import):
    batch.add("NEW", doc_number="124", replaces="OLD", files=[batch.file("files/new.png", png_scan(shade=2))])
    do_import(batch.write())
    batch.lines.clear()
    batch.add("OLD", files=[batch.file("files/old.png", png_scan(shade=1))])
    do_import(batch.write())

    assert _status(db_session, "OLD") == "replaced"
    (change,) = db_session.scalars(sa.select(StatusChange).join(Record).where(Record.source_id == "OLD"))
    assert (change.old_status, change.new_status) == (None, "replaced") and "NEW" in change.reason


def test_a_zip_of_the_batch_folder_imports(db_session, batch, do_import, tmp_path):
    batch.add("Z-1", files=[batch.file("files/z.png", png_scan())])
    archive = zip_batch(batch.write(), tmp_path / "batch.zip")

    result = do_import(archive)

    assert result.summary["created"] == 1 and result.name == "batch"
    assert list((tmp_path / "data" / "tmp").iterdir()) == []  # the extracted copy is cleaned up
