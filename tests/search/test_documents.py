import json
from datetime import date, timedelta

from sqlalchemy import event, func, select

from portal.records.documents import iter_documents, load_records, to_document
from portal.records.models import Record, ResultStatus
from portal.units.models import AdminUnit, UnitSuccession
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
    # Procedures, units with their successors, then per page one statement for the rows and one
    # for their scan texts (portal/ocr), and the empty page.
    assert len(statements) <= 10, statements
    assert sum("document_text" in statement for statement in statements) == 2  # per page, not per record


def _varied_records(db_session, make_record) -> list[Record]:
    """Results of every kind a document distinguishes, on units of every kind."""
    split_id = db_session.scalar(select(UnitSuccession.old_unit_id).group_by(UnitSuccession.old_unit_id)
                                 .having(func.count() > 1).order_by(UnitSuccession.old_unit_id))
    units = [
        get_unit(db_session, "00160"),  # old ward: its district, one successor
        db_session.get(AdminUnit, split_id),  # old commune split over several current units
        get_unit(db_session, "00166", system="current"),
        get_unit(db_session, "005", level="district"),  # an old district: no successor of its own
    ]
    assert len(units[1].successor_links) > 1
    day = timedelta(days=1)
    kinds = [
        dict(), dict(access="personal", holder="Trần Văn Bình"),
        dict(valid_to=TODAY - day), dict(valid_to=TODAY, access="personal"), dict(valid_to=TODAY + day),
        dict(status="expired"), dict(status="revoked", valid_to=TODAY - day),
        dict(status="replaced", replaces_source_id="HN-OLD-1"), dict(status="annulled", access="personal"),
        dict(doc_notation=None, dossier_code=None, result_type_code="KQ.1"),
        dict(summary="", issuer_name="", holder="Công ty TNHH Hoà Bình", issued_date=date(2025, 7, 1)),
    ]
    made = [make_record(unit=unit, commit=False, **kind) for unit in units for kind in kinds]
    if db_session.get_bind().dialect.name == "sqlite":  # no foreign keys there: a result whose
        made.append(make_record(procedure_code="9.999999", commit=False))  # procedure is unknown
    db_session.commit()
    return made


def test_documents_from_rows_are_those_of_to_document(db_session, make_record):
    """The rebuild's row path and the drain's `to_document` give the same bytes for every kind of
    result: `search check` compares their digests."""
    ids = [record.id for record in _varied_records(db_session, make_record)]
    db_session.expunge_all()
    records = sorted(load_records(db_session, ids), key=lambda record: record.id)
    expected = {record.source_id: to_document(record, TODAY) for record in records}
    if db_session.get_bind().dialect.name == "sqlite":
        assert any(doc["title"] == "Giấy phép xây dựng" for doc in expected.values())  # no procedure name
    db_session.expunge_all()
    for batch_size in (1000, 7):  # one page, and keyset pages that end inside a unit's run
        built = {doc["id"]: doc for doc in iter_documents(db_session, TODAY, batch_size=batch_size)}
        assert list(built) == list(expected)
        for source_id, doc in built.items():
            assert json.dumps(doc, ensure_ascii=False) == json.dumps(expected[source_id], ensure_ascii=False)
    statuses = {doc["status"] for doc in expected.values()}
    assert statuses == set(ResultStatus)
    assert {doc["holder"] for doc in expected.values() if doc["access"] == "personal"} == {""}
    assert len({tuple(doc["current_unit"]) for doc in expected.values()}) == 4


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
