"""The chunk fast path (multi-row INSERTs) writes exactly what the line-by-line ORM path writes."""

from __future__ import annotations

import sqlalchemy as sa
from builders import IMPORT_TABLES, dump, png_scan

from portal.imports import service
from portal.records.models import Record


def _first_batch(batch):
    batch.lines.clear()
    batch.add("E-1", files=[batch.file("files/e1.png", png_scan(shade=1))])
    batch.add(
        "E-2",
        doc_number="2",
        subject={"id_number": "001085000002", "name": "Lê Văn Hai"},
        files=[batch.file("files/e2.png", png_scan(shade=2))],
    )
    batch.add("T-1", doc_number="3", files=[batch.file("files/t1.png", png_scan(shade=3))])
    return batch.write()


def _second_batch(batch):
    batch.lines.clear()
    new_person = {"id_number": "001085000010", "name": "Phạm Thị Mới", "birth_date": None}
    # A new subject named by several lines: the last name wins, a birth date is filled in later.
    batch.add(
        "N-1", doc_number="10", subject=new_person, files=[batch.file("files/n1.png", png_scan(shade=10))]
    )
    batch.add(
        "N-2",
        doc_number="11",
        subject={**new_person, "name": "Phạm Thị Mới Sửa"},
        files=[batch.file("files/n1.png", png_scan(shade=10))],
    )
    batch.add(
        "N-3",
        doc_number="12",
        subject={**new_person, "birth_date": "1990-01-02"},
        files=[batch.file("files/n3.png", png_scan(shade=12)), batch.file("files/e1.png", png_scan(shade=1))],
    )
    # An existing record updated to a subject that is new in this chunk, also used by a new record.
    other = {"id_number": "001085000020", "name": "Vũ Văn Khác"}
    batch.add(
        "E-1",
        summary="Đã sửa",
        status="revoked",
        subject=other,
        files=[batch.file("files/e1b.png", png_scan(shade=21))],
    )
    batch.add("N-4", doc_number="13", subject=other, files=[batch.file("files/n4.png", png_scan(shade=22))])
    # Unchanged, and a replacement of an existing record.
    batch.add(
        "E-2",
        doc_number="2",
        subject={"id_number": "001085000002", "name": "Lê Văn Hai"},
        files=[batch.file("files/e2.png", png_scan(shade=2))],
    )
    batch.add("R-1", doc_number="14", replaces="T-1", files=[batch.file("files/r1.png", png_scan(shade=23))])
    # Replacements inside the chunk, in both orders of arrival.
    batch.add("R-2", doc_number="15", replaces="N-5", files=[batch.file("files/r2.png", png_scan(shade=24))])
    batch.add("N-5", doc_number="16", files=[batch.file("files/n5.png", png_scan(shade=25))])
    batch.add(
        "N-6", doc_number="17", status="expired", files=[batch.file("files/n6.png", png_scan(shade=26))]
    )
    batch.add("R-3", doc_number="18", replaces="N-6", files=[batch.file("files/r3.png", png_scan(shade=27))])
    batch.add(
        "N-7", doc_number="19", status="replaced", files=[batch.file("files/n7.png", png_scan(shade=28))]
    )
    batch.raw("not json")
    return batch.write()


def _wipe(session):
    for table in IMPORT_TABLES:
        session.execute(sa.text(f"DELETE FROM {table}"))
    session.commit()


def test_fast_path_and_line_by_line_path_write_the_same(db_session, batch, do_import, monkeypatch):
    def scenario():
        do_import(_first_batch(batch))
        summary = do_import(_second_batch(batch)).summary
        return summary, dump(db_session)

    def no_fast_path(*args, **kwargs):
        raise service._Retry()

    with monkeypatch.context() as patched:
        patched.setattr(service, "apply_lines", no_fast_path)
        slow_summary, slow = scenario()
    _wipe(db_session)
    finished = []

    def spy(*args, **kwargs):
        outcomes = real(*args, **kwargs)
        finished.append(len(outcomes))
        return outcomes

    real = service.apply_lines
    monkeypatch.setattr(service, "apply_lines", spy)
    fast_summary, fast = scenario()

    assert finished == [3, 12]  # both chunks went through the fast path, none fell back

    assert (
        fast_summary
        == slow_summary
        == {"read": 13, "created": 10, "updated": 1, "unchanged": 1, "refused": 1}
    )
    for table in slow:
        assert fast[table] == slow[table], table
    statuses = dict(db_session.execute(sa.select(Record.source_id, Record.status)).all())
    assert statuses["T-1"] == statuses["N-5"] == statuses["N-6"] == "replaced"
