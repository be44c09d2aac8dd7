"""The issue's promises, end to end through the real commands: demo data in, found by what people type."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.demo.bad_batch import write_bad_batch
from portal.records.models import Access, Record
from portal.text import fold


@pytest.fixture
def seeded(app, runner):
    result = runner.invoke(args=["demo", "seed", "--results", "120", "--unique-scans", "10"])
    assert result.exit_code == 0, result.output
    return app


def _first_hit(client, text: str) -> dict:
    body = client.get("/api/v1/search", query_string={"q": text}).json
    assert body["total"] > 0, text
    return body["hits"][0]


def test_demo_results_are_found_by_what_people_type(seeded, client, db_session):
    public = db_session.scalars(select(Record).where(Record.access == Access.PUBLIC).order_by(Record.id)).all()
    personal = db_session.scalars(select(Record).where(
        Record.access == Access.PERSONAL, Record.doc_notation.is_not(None), Record.dossier_code.is_not(None))
    ).first()
    assert public and personal

    record = public[0]
    # Holder name without diacritics, and with "d" for "đ": public results are found by holder.
    assert _first_hit(client, fold(record.subject.name))["source_id"] == record.source_id
    # The number as printed, in other spacing and case.
    typed = f" {record.doc_number} / {(record.doc_notation or '').lower()} "
    assert _first_hit(client, typed)["source_id"] == record.source_id

    # A personal result is never found by its holder's name, only by its exact number.
    names = client.get("/api/v1/search", query_string={"q": personal.subject.name}).json
    assert personal.source_id not in [hit["source_id"] for hit in names["hits"]]
    for identifier in (personal.number_display, personal.dossier_code.lower()):
        hit = _first_hit(client, identifier)
        # Restricted: type, issuing unit and status only (not even the sender's source_id).
        assert hit["restricted"] is True
        assert set(hit) == {"restricted", "doc_type_name", "issuing_unit", "successor_units", "status"}
        assert (hit["doc_type_name"], hit["issuing_unit"]["code"]) == (
            personal.doc_type_name, personal.issuing_unit.code)


def test_a_bare_number_never_reveals_a_personal_result(seeded, client, db_session):
    bare = db_session.scalars(select(Record).where(
        Record.access == Access.PERSONAL, Record.doc_notation.is_(None))).first()
    assert bare is not None
    hits = client.get("/api/v1/search", query_string={"q": bare.doc_number}).json["hits"]
    assert not any(hit["restricted"] for hit in hits)


def test_results_of_an_old_unit_are_found_by_its_old_and_its_new_name(seeded, client, db_session):
    record = next(r for r in db_session.scalars(select(Record).where(Record.access == Access.PUBLIC))
                  if r.issuing_unit.system == "legacy" and r.issuing_unit.level == "commune")
    new_unit = record.issuing_unit.successor_links[0].new_unit
    for unit_name in (record.issuing_unit.name, new_unit.name):
        text = fold(f"{record.doc_type_name} {unit_name} {record.subject.name}")
        assert _first_hit(client, text)["source_id"] == record.source_id, unit_name


def test_result_page_shows_the_successor_unit(seeded, client, db_session):
    record = next(r for r in db_session.scalars(select(Record).where(Record.access == Access.PUBLIC))
                  if r.issuing_unit.system == "legacy" and r.issuing_unit.level == "commune")
    html = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert record.issuing_unit.name in html
    assert record.issuing_unit.successor_links[0].new_unit.name in html


def test_bad_batch_goes_in_line_by_line_with_reasons(runner, tmp_path):
    expected = write_bad_batch(tmp_path / "bad")
    first = runner.invoke(args=["records", "import", str(tmp_path / "bad")])
    assert first.exit_code == 0, first.output
    for line_no in expected:
        assert f"{line_no}" in first.output
    assert f"refused: {len(expected)}" in first.output.lower() or f"{len(expected)}" in first.output
    again = runner.invoke(args=["records", "import", str(tmp_path / "bad")])
    assert again.exit_code == 0, again.output
    assert "created: 0" in again.output.lower() or "tạo mới: 0" in again.output.lower()
