"""Procedures as the nation has them: a well-formed code the portal does not know goes in as an
uncatalogued procedure with a warning; `flask refdata procedures FILE` names them; admins complete them."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from builders import forget_new_procedures, png_scan

from portal.imports.models import ImportBatch, ImportLine
from portal.procedures.models import Procedure
from portal.records.models import Record
from tests.identity.staff_builders import form_token


@pytest.fixture(autouse=True)
def _forget_procedures(database):
    yield
    forget_new_procedures(database)


def _lines(session, batch_id):
    return {line.line_no: line for line in session.scalars(
        sa.select(ImportLine).where(ImportLine.batch_id == batch_id))}


def _warnings(line):
    return [entry for entry in line.errors if entry.get("severity") == "warning"]


def test_a_batch_with_unknown_codes_imports_every_good_line_and_refdata_then_names_them(
        runner, db_session, batch, tmp_path, monkeypatch):
    one, two = png_scan(shade=10), png_scan(shade=20)
    batch.add("NEW-1", procedure_code="2.000001", procedure_name="Cấp phép khai thác nước dưới đất",
              doc_number="1", files=[batch.file("files/1.png", one)])
    batch.add("NEW-2", procedure_code="2.000001", doc_number="2", files=[batch.file("files/2.png", two)])
    batch.add("NEW-3", procedure_code="2.000002", doc_type_name="Giấy phép môi trường", doc_number="3",
              files=[batch.file("files/3.png", png_scan(shade=30))])
    batch.add("BAD-CODE", procedure_code="2.00001", doc_number="4",
              files=[batch.file("files/4.png", png_scan(shade=40))])

    result = runner.invoke(args=["records", "import", str(batch.write())])

    assert result.exit_code == 0, result.output
    assert "Tạo mới / created: 3" in result.output and "Từ chối / refused: 1" in result.output
    assert "Cảnh báo / warnings: 2 dòng / lines" in result.output
    assert ("procedure_code 2.000001 is not in the portal's catalogue: created as an uncatalogued procedure "
            "“Cấp phép khai thác nước dưới đất”") in result.output
    batch_id = db_session.scalar(sa.select(ImportBatch.id))
    lines = _lines(db_session, batch_id)
    # Once per new code, on the first line that used it; the malformed code is still refused.
    assert [(e["code"], e["ref"]) for e in _warnings(lines[1])] == [("new_procedure", "2.000001")]
    assert _warnings(lines[2]) == [] and lines[2].warnings == 0
    assert [(e["code"], e["ref"]) for e in _warnings(lines[3])] == [("new_procedure", "2.000002")]
    assert lines[4].outcome == "refused" and lines[4].errors[0]["code"] == "format"
    new = {p.code: p for p in db_session.scalars(sa.select(Procedure).where(Procedure.catalogued.is_(False)))}
    assert {code: p.name for code, p in new.items()} == {
        "2.000001": "Cấp phép khai thác nước dưới đất", "2.000002": "Giấy phép môi trường"}
    assert sorted(db_session.scalars(sa.select(Record.source_id))) == ["NEW-1", "NEW-2", "NEW-3"]

    kept = runner.invoke(args=["records", "report", str(batch_id)])
    assert kept.exit_code == 0 and "! procedure_code: Mã thủ tục 2.000002 chưa có trong danh mục" in kept.output

    # The national database's export: Vietnamese headers, a title line above them, semicolons.
    catalogue = tmp_path / "danh-muc.csv"
    catalogue.write_text(
        "Danh mục thủ tục hành chính\n\n"
        "STT;Mã thủ tục;Tên thủ tục;Lĩnh vực;Cấp thực hiện\n"
        "1;2.000001;Cấp giấy phép khai thác, sử dụng nước dưới đất;Tài nguyên nước;Cấp Tỉnh\n"
        "2;2.000002;Cấp giấy phép môi trường;Môi trường;Cấp Tỉnh, Cấp Xã\n"
        "3;2.00003;Mã sai;Môi trường;Cấp Xã\n", encoding="utf-8-sig")
    from portal import refdata

    reindexed, enqueue = [], refdata.index_queue.enqueue_upserts
    monkeypatch.setattr(refdata.index_queue, "enqueue_upserts",
                        lambda session, ids: enqueue(session, reindexed.extend(ids) or reindexed))
    loaded = runner.invoke(args=["refdata", "procedures", str(catalogue)])

    assert loaded.exit_code == 0, loaded.output
    assert "0 mới / new, 2 bổ sung từ chưa biên mục / completed" in loaded.output
    assert "1 bỏ qua / skipped" in loaded.output
    db_session.expire_all()
    named = {p.code: p for p in db_session.scalars(sa.select(Procedure).where(Procedure.code.in_(new)))}
    assert all(p.catalogued for p in named.values())
    assert named["2.000001"].name == "Cấp giấy phép khai thác, sử dụng nước dưới đất"
    assert (named["2.000001"].field, named["2.000001"].level) == ("Tài nguyên nước", "province")
    assert named["2.000002"].level == "commune"
    # The results' search documents carry the procedure's name: asked to be rewritten.
    assert sorted(reindexed) == ["NEW-1", "NEW-2", "NEW-3"]

    again = runner.invoke(args=["refdata", "procedures", str(catalogue)])
    assert again.exit_code == 0 and "0 mới / new, 0 bổ sung" in again.output
    assert "0 cập nhật / updated, 2 không đổi / unchanged" in again.output


def test_the_spreadsheet_export_loads_too(runner, db_session, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["DANH MỤC THỦ TỤC HÀNH CHÍNH"])
    sheet.append(["STT", "Mã TTHC", "Tên TTHC", "Lĩnh vực", "Cấp thực hiện"])
    sheet.append([1, "2.000101", "Đăng ký khai thác nước mặt", "Tài nguyên nước", "Cấp Tỉnh"])
    sheet.append([2, 2.0001, "Một thủ tục gõ mã như số", "Môi trường", "Cấp Xã"])  # 2.000100
    sheet.append([3, "1.001193", "", "", ""])  # no name: the portal's own is kept
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    result = runner.invoke(args=["refdata", "procedures", str(path)])

    assert result.exit_code == 0, result.output
    assert "2 mới / new" in result.output and "1 bỏ qua / skipped" in result.output
    assert db_session.get(Procedure, "2.000100").name == "Một thủ tục gõ mã như số"
    assert db_session.get(Procedure, "2.000101").catalogued is True
    assert db_session.get(Procedure, "1.001193").name == "Đăng ký khai sinh"


def test_a_file_without_code_and_name_columns_is_refused_plainly(runner, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(args=["refdata", "procedures", str(path)])
    assert result.exit_code == 1 and "no header row naming the procedure code and name" in result.output
    assert "Traceback" not in result.output


def test_a_later_batch_warns_that_the_procedure_is_still_uncatalogued(db_session, batch, do_import, tmp_path):
    batch.add("U-1", procedure_code="2.000201", files=[batch.file("files/u.png", png_scan(shade=50))])
    first = do_import(batch.write())
    from builders import BatchBuilder

    second_batch = BatchBuilder(tmp_path / "second")
    second_batch.add("U-2", procedure_code="2.000201", doc_number="9",
                     files=[second_batch.file("files/v.png", png_scan(shade=60))])
    second = do_import(second_batch.write())

    (line,) = _lines(db_session, second.id).values()
    assert [e["code"] for e in _warnings(line)] == ["uncatalogued_procedure"]
    assert first.summary["created"] == second.summary["created"] == 1


def test_a_resumed_run_does_not_warn_twice_about_one_code(db_session, batch, do_import, monkeypatch):
    for n in range(4):
        batch.add(f"R-{n}", procedure_code="2.000301", doc_number=str(n),
                  files=[batch.file(f"files/{n}.png", png_scan(shade=70 + n))])
    path = batch.write()
    from portal.imports import service

    real, calls = service._import_chunk, []

    def stop_after_first(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt  # killed after the first chunk committed
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_import_chunk", stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        do_import(path, chunk_size=2)
    db_session.rollback()
    monkeypatch.setattr(service, "_import_chunk", real)
    result = do_import(path, chunk_size=2)

    warned = [n for n, line in _lines(db_session, result.id).items() if _warnings(line)]
    assert result.summary["created"] == 4 and warned == [1]


def test_two_imports_creating_the_same_procedure_at_once_both_succeed(app, db_session):
    """Two transactions insert the same new code; the second waits for the first (PostgreSQL) or
    for the write lock (SQLite), then skips it: neither fails."""
    from portal.extensions import db
    from portal.imports.findings import create_procedures
    from portal.imports.validation import CheckedLine

    line = CheckedLine(line_no=1, data={"procedure_code": "2.000401", "doc_type_name": "Giấy phép",
                                        "access": "public", "procedure_name": "Thủ tục mới"},
                       source_id="X", unit_id=1, files=[], issued_date=None, valid_from=None, valid_to=None,
                       birth_date=None, digitized_at=None, procedure_known=False)
    engine = db.engine
    first = sa.orm.Session(engine)
    created_first = create_procedures(first, [line])  # holds its row (and SQLite's write lock) uncommitted
    outcome = {}

    def second():
        session = sa.orm.Session(engine)
        try:
            outcome["created"] = create_procedures(session, [line])
            session.commit()
        except Exception as problem:  # noqa: BLE001 - the test reports it
            outcome["error"] = problem
        finally:
            session.close()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the first transaction, not failing
    first.commit()
    first.close()
    thread.join(20)

    assert "error" not in outcome, outcome.get("error")
    assert created_first == {"2.000401"} and outcome["created"] == set()
    assert db_session.get(Procedure, "2.000401").catalogued is False


def test_an_admin_completes_an_uncatalogued_procedure(app, db_session, batch, do_import, make_staff,
                                                       login_staff):
    batch.add("P-1", procedure_code="2.000501", files=[batch.file("files/p.png", png_scan(shade=90))])
    do_import(batch.write())
    admin, clerk = make_staff(role="admin"), make_staff(role="clerk", units=["phuong-nghia-do"])
    client = app.test_client()
    login_staff(client, clerk)
    assert client.get("/staff/procedures/").status_code == 403
    client = app.test_client()
    login_staff(client, admin)

    listing = client.get("/staff/procedures/").get_data(as_text=True)
    assert "2.000501" in listing
    url = "/staff/procedures/2.000501"
    token = form_token(client, url)
    assert client.post(url, data={"name": "x"}).status_code == 400  # no CSRF token: refused
    missing = client.post(url, data={"csrf_token": token, "name": "", "field": "", "level": "commune",
                                     "access": "public"})
    assert missing.status_code == 400
    done = client.post(url, data={"csrf_token": token, "name": "Cấp phép xả nước thải", "field": "Môi trường",
                                  "level": "province", "result_doc_type": "Giấy phép", "notation": "GP",
                                  "access": "public"})
    assert done.status_code == 302
    db_session.expire_all()
    procedure = db_session.get(Procedure, "2.000501")
    assert procedure.catalogued and procedure.name == "Cấp phép xả nước thải" and procedure.level == "province"
    assert client.get(url).status_code == 404  # catalogued now: the catalogue owns it
    assert db_session.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action = 'procedures.complete'")) == 1
