from datetime import date, timedelta

from sqlalchemy import event, select

from portal.records.documents import iter_documents, to_document
from portal.records.models import Record, ResultStatus
from tests.search.conftest import TODAY, get_unit


def test_document_of_a_public_result(db_session, make_record):
    record = make_record(doc_number="123", doc_notation="GPXD", result_type_code="KQ.H26.000123",
                         dossier_code="000.20.05.H26-190502-0007")
    doc = to_document(record, TODAY)
    assert doc["id"] == record.source_id
    assert doc["title"].startswith("Giấy phép xây dựng")
    assert doc["number"] == ["123/GPXD", "000.20.05.H26-190502-0007", "KQ.H26.000123"]
    assert doc["holder"] == "Nguyễn Thị Lan"
    # Old commune, its district, and the current ward it lives on in since 1 July 2025.
    assert doc["units"] == ["Phường Nghĩa Tân", "Quận Cầu Giấy", "Phường Nghĩa Đô"]
    assert (doc["unit"], doc["current_unit"]) == ("00160", ["00160"])
    assert (doc["access"], doc["status"], doc["year"]) == ("public", "valid", "2019")
    assert doc["digest"]


def test_personal_result_has_no_holder_and_no_id_number(make_record):
    record = make_record(access="personal", id_number="001085012345")
    doc = to_document(record, TODAY)
    assert doc["holder"] == ""
    assert "001085012345" not in repr(doc)


def test_effective_status_and_current_unit(db_session, make_record):
    current = get_unit(db_session, "00166", system="current")
    record = make_record(unit=current, valid_to=date(2025, 1, 1))
    doc = to_document(record, TODAY)
    assert doc["status"] == "expired"
    assert doc["current_unit"] == ["00166"]
    assert doc["units"] == ["Phường Cầu Giấy"]


def test_loading_for_indexing_has_no_n_plus_one(app, db_session, make_record):
    units = [get_unit(db_session, code) for code in ("00160", "00166", "00169", "00157")]
    for i in range(40):
        make_record(unit=units[i % 4], commit=False)
    db_session.commit()
    db_session.expunge_all()
    statements = []
    engine = db_session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        docs = list(iter_documents(db_session, TODAY, batch_size=25))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(docs) == 40
    assert len(statements) <= 8, statements  # per batch: records + successors, then the empty page


def test_effective_status_in_python_and_in_sql_agree(db_session, make_record):
    """Record.effective_status and its SQL twin Record.effective_status_is, for every stored status
    and an end date none, past, today and to come."""
    ends = (None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1))
    made = [make_record(status=status.value, valid_to=end, commit=False)
            for status in ResultStatus for end in ends]
    db_session.commit()
    ids = [record.id for record in made]
    for status in ResultStatus:
        in_python = {record.id for record in made if record.effective_status(TODAY) == status}
        in_sql = set(db_session.scalars(select(Record.id).where(
            Record.id.in_(ids), Record.effective_status_is(status.value, TODAY))))
        assert in_sql == in_python, status
    assert {record.effective_status(TODAY) for record in made} == set(ResultStatus)
