"""Do not digitize twice: possible duplicates are imported and flagged, and a person decides."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from builders import BatchBuilder, png_scan

from portal.imports.models import ImportLine
from portal.records import duplicates, services
from portal.records.documents import load_by_source_ids
from portal.records.models import DuplicateFlag, Record
from portal.units.models import AdminUnit, UnitSuccession
from tests.identity.staff_builders import form_token


@pytest.fixture
def batches(tmp_path):
    names = iter(range(1, 100))
    return lambda: BatchBuilder(tmp_path / f"batch-{next(names)}")


def _warnings(session, batch_id, line_no=None):
    query = sa.select(ImportLine).where(ImportLine.batch_id == batch_id)
    found = []
    for line in session.scalars(query):
        if line_no is None or line.line_no == line_no:
            found += [e for e in line.errors if e.get("code") == "possible_duplicate"]
    return found


def _flags(session):
    return list(session.scalars(sa.select(DuplicateFlag).order_by(DuplicateFlag.id)))


def _record(session, source_id):
    return session.scalar(sa.select(Record).where(Record.source_id == source_id))


def _one_line(batches, source_id, shade, **fields):
    builder = batches()
    builder.add(source_id, files=[builder.file(f"files/{source_id}.png", png_scan(shade=shade))], **fields)
    return builder.write()


def test_same_unit_number_notation_and_date_under_another_source_id_is_flagged_not_refused(
        runner, db_session, batches, do_import):
    first = do_import(_one_line(batches, "CENTRE-A-1", 11))
    assert _warnings(db_session, first.id) == [] and _flags(db_session) == []

    result = runner.invoke(args=["records", "import", str(_one_line(batches, "ONESTOP-9", 12))])

    assert result.exit_code == 0, result.output
    assert "Tạo mới / created: 1" in result.output
    assert "Có thể trùng với kết quả CENTRE-A-1" in result.output and "possible duplicate of result CENTRE-A-1" in result.output
    (flag,) = _flags(db_session)
    assert (flag.record.source_id, flag.other.source_id, flag.reasons, flag.state) == (
        "CENTRE-A-1", "ONESTOP-9", "number", "open")
    batch_id = flag.batch_id
    (entry,) = _warnings(db_session, batch_id)
    assert entry["severity"] == "warning" and entry["ref"] == "CENTRE-A-1" and entry["field"] == "doc_number"
    report = runner.invoke(args=["records", "report", str(batch_id)])
    assert "! doc_number: Có thể trùng với kết quả CENTRE-A-1" in report.output
    # Another number (or date, or unit) is not a duplicate.
    other = do_import(_one_line(batches, "ONESTOP-10", 13, doc_number="124"))
    assert _warnings(db_session, other.id) == [] and len(_flags(db_session)) == 1


def test_the_same_file_bytes_under_another_number_is_flagged(db_session, batches, do_import):
    do_import(_one_line(batches, "F-1", 21, doc_number="1"))
    second = do_import(_one_line(batches, "F-2", 21, doc_number="2"))  # same bytes: shade 21

    (entry,) = _warnings(db_session, second.id)
    assert entry["field"] == "files" and "files/F-2.png has the same bytes" in entry["en"]
    assert [f.reasons for f in _flags(db_session)] == ["file"]


def test_a_scan_shared_by_many_results_is_shared_material_not_a_duplicate(db_session, batches, do_import):
    builder = batches()
    shared = builder.file("files/form.png", png_scan(shade=31))
    for n in range(6):
        builder.add(f"S-{n}", doc_number=str(n), files=[shared])
    result = do_import(builder.write())

    flagged = {line.line_no for line in db_session.scalars(
        sa.select(ImportLine).where(ImportLine.batch_id == result.id, ImportLine.warnings > 0))}
    # The second and third holders are flagged; from the fourth on the bytes are shared material.
    assert flagged == {2, 3} and len(_flags(db_session)) == 3
    assert result.summary["created"] == 6


def test_within_one_batch_only_the_later_line_is_flagged(db_session, batches, do_import):
    builder = batches()
    builder.add("W-1", files=[builder.file("files/w1.png", png_scan(shade=41))])
    builder.add("W-2", files=[builder.file("files/w2.png", png_scan(shade=42))])
    result = do_import(builder.write())

    assert _warnings(db_session, result.id, 1) == []
    assert [e["ref"] for e in _warnings(db_session, result.id, 2)] == ["W-1"]


def test_different_clears_the_flag_and_the_pair_is_never_flagged_again(db_session, batches, do_import,
                                                                       make_staff):
    do_import(_one_line(batches, "D-1", 51))
    do_import(_one_line(batches, "D-2", 52))
    admin = make_staff(role="admin")
    (flag,) = _flags(db_session)

    duplicates.mark_different(db_session, admin, flag)
    db_session.commit()
    again = do_import(_one_line(batches, "D-2", 52, summary="Trích yếu đã sửa"))  # updated, same pair

    assert again.summary["updated"] == 1 and _warnings(db_session, again.id) == []
    assert [f.state for f in _flags(db_session)] == ["different"]
    assert db_session.scalar(sa.text(
        "SELECT count(*) FROM audit_log WHERE action = 'records.duplicate.different'")) == 1


def test_same_result_merges_into_an_alias_found_by_lookups_and_updated_by_reimports(
        app, db_session, batches, do_import, make_staff):
    do_import(_one_line(batches, "KEEP-1", 61, access="public"))
    do_import(_one_line(batches, "DUP-1", 62, access="public"))
    admin = make_staff(role="admin")
    (flag,) = _flags(db_session)
    kept, merged = _record(db_session, "KEEP-1"), _record(db_session, "DUP-1")

    duplicates.mark_same(db_session, admin, flag, "KEEP-1")
    db_session.commit()

    assert merged.merged_into_id == kept.id and flag.state == "same" and flag.kept_id == kept.id
    assert services.find_record(db_session, "DUP-1").source_id == "KEEP-1"  # the alias finds the kept one
    assert set(load_by_source_ids(db_session, ["KEEP-1", "DUP-1"])) == {"KEEP-1"}  # the merged one leaves search
    client = app.test_client()
    response = client.get("/results/DUP-1")
    assert response.status_code == 302 and response.location.endswith("/results/KEEP-1")
    assert client.get("/results/KEEP-1").status_code == 200
    # Nothing was deleted: the merged result keeps its files and row.
    assert len(merged.files) == 1
    assert duplicates.aliases_of(db_session, kept) == ["DUP-1"]
    assert db_session.scalar(sa.text(
        "SELECT count(*) FROM audit_log WHERE action = 'records.duplicate.same'")) == 1

    # A re-import of the alias updates the kept result, and raises no flag against itself.
    again = do_import(_one_line(batches, "DUP-1", 62, access="public", summary="Bản sửa gửi theo mã cũ"))
    db_session.expire_all()
    assert again.summary["updated"] == 1 and _warnings(db_session, again.id) == []
    assert _record(db_session, "KEEP-1").summary == "Bản sửa gửi theo mã cũ"
    assert _record(db_session, "DUP-1").summary != "Bản sửa gửi theo mã cũ"
    # ...and the same line again changes nothing.
    assert do_import(_one_line(batches, "DUP-1", 62, access="public",
                               summary="Bản sửa gửi theo mã cũ")).summary["unchanged"] == 1
    # A re-import of the kept source id updates it as before.
    assert do_import(_one_line(batches, "KEEP-1", 61, access="public")).summary["updated"] == 1

    duplicates.undo(db_session, admin, flag)
    db_session.commit()
    assert _record(db_session, "DUP-1").merged_into_id is None and flag.state == "open"
    assert services.find_record(db_session, "DUP-1").source_id == "DUP-1"


def _current_units_of(session, legacy_code: str):
    old = session.scalar(sa.select(AdminUnit).where(AdminUnit.code == legacy_code.zfill(5),
                                                    AdminUnit.system == "legacy", AdminUnit.level == "commune"))
    return list(session.scalars(sa.select(AdminUnit).join(UnitSuccession, UnitSuccession.new_unit_id == AdminUnit.id)
                                .where(UnitSuccession.old_unit_id == old.id)))


def test_the_staff_list_serves_the_units_clerks_and_a_decision_needs_csrf(
        app, db_session, batches, do_import, make_staff, login_staff):
    do_import(_one_line(batches, "L-1", 71))
    do_import(_one_line(batches, "L-2", 72))
    (flag,) = _flags(db_session)
    ours = _current_units_of(db_session, "167")
    elsewhere = db_session.scalar(sa.select(AdminUnit).where(
        AdminUnit.system == "current", AdminUnit.level == "commune", AdminUnit.id.not_in([u.id for u in ours])))
    clerk, stranger = make_staff(role="clerk", units=ours), make_staff(role="clerk", units=[elsewhere])

    client = app.test_client()
    login_staff(client, stranger)
    assert "L-1" not in client.get("/staff/duplicates/").get_data(as_text=True)
    assert client.get(f"/staff/duplicates/{flag.id}").status_code == 404

    client = app.test_client()
    login_staff(client, clerk)
    listing = client.get("/staff/duplicates/")
    assert listing.status_code == 200 and "L-1 · L-2" in listing.get_data(as_text=True)
    url = f"/staff/duplicates/{flag.id}"
    page = client.get(url).get_data(as_text=True)
    assert "L-1" in page and "L-2" in page
    refused = client.post(f"{url}/same", data={"keep": "L-1"})  # no CSRF token
    assert refused.status_code in (302, 400)
    db_session.expire_all()
    assert _flags(db_session)[0].state == "open"

    done = client.post(f"{url}/same", data={"keep": "L-1", "csrf_token": form_token(client, url)})
    assert done.status_code == 302
    db_session.expire_all()
    assert _record(db_session, "L-2").merged_into_id == _record(db_session, "L-1").id
    assert "L-1 · L-2" in client.get("/staff/duplicates/?state=same").get_data(as_text=True)
    # Deciding it again (a second tab): nothing happens twice.
    again = client.post(f"{url}/different", data={"csrf_token": form_token(client, url)})
    assert again.status_code == 302
    db_session.expire_all()
    assert _flags(db_session)[0].state == "same"
