"""The `flask records import` and `flask records report` commands, zip safety, database refusals."""

from __future__ import annotations

import zipfile

import pytest
import sqlalchemy as sa
from builders import png_scan, zip_batch

from portal.imports.models import ImportBatch, ImportLine
from portal.imports.service import BatchError
from portal.records.models import Record


def test_cli_imports_and_prints_the_report(runner, db_session, batch):
    batch.add("C-1", files=[batch.file("files/a.png", png_scan())])
    batch.add("C-2", issued_date="2031-01-01", files=[batch.file("files/a.png", png_scan())])

    result = runner.invoke(args=["records", "import", str(batch.write()), "--chunk-size", "1"])

    assert result.exit_code == 0, result.output
    assert "Tạo mới / created: 1" in result.output and "Từ chối / refused: 1" in result.output
    assert "dòng / line 2 · C-2" in result.output
    assert (
        "issued_date: Ngày ban hành 2031-01-01 ở tương lai / issued_date 2031-01-01 is in the future"
        in result.output
    )
    batch_id = db_session.scalar(sa.select(ImportBatch.id))

    kept = runner.invoke(args=["records", "report", str(batch_id)])
    assert kept.exit_code == 0 and "dòng / line 2 · C-2" in kept.output


@pytest.mark.parametrize("make", ["missing", "no_manifest", "not_a_zip"])
def test_cli_refuses_what_is_not_a_batch_without_a_traceback(runner, tmp_path, make):
    path = tmp_path / "thing"
    if make == "no_manifest":
        path.mkdir()
    elif make == "not_a_zip":
        path.write_text("hello")

    result = runner.invoke(args=["records", "import", str(path)])

    assert result.exit_code != 0
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert {
        "missing": "does not exist",
        "no_manifest": "no manifest.jsonl",
        "not_a_zip": "neither a batch folder nor a .zip",
    }[make] in result.output


def test_cli_report_of_an_unknown_batch(runner):
    result = runner.invoke(args=["records", "report", "999"])
    assert result.exit_code == 1 and "no import run with id 999" in result.output


def test_a_zip_at_its_root_imports(db_session, batch, do_import, tmp_path):
    batch.add("Z-1", files=[batch.file("files/z.png", png_scan())])
    result = do_import(zip_batch(batch.write(), tmp_path / "flat.zip", top=None))
    assert result.summary["created"] == 1


def test_zip_slip_is_refused(db_session, batch, do_import, tmp_path):
    batch.add("Z-1", files=[batch.file("files/z.png", png_scan())])
    archive = zip_batch(batch.write(), tmp_path / "evil.zip", top=None)
    with zipfile.ZipFile(archive, "a") as zipped:
        zipped.writestr("../../escaped.txt", "pwned")

    with pytest.raises(BatchError, match="unsafe path in the zip"):
        do_import(archive)

    assert not list(tmp_path.rglob("escaped.txt"))
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Record)) == 0


def _refuse_source_id_in_database(session, source_id: str) -> None:
    """A real database rule (a trigger) the importer doesn't know about."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            sa.text(
                f"CREATE TRIGGER refuse_boom BEFORE INSERT ON record WHEN NEW.source_id = '{source_id}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by a database rule'); END"
            )
        )
    else:
        session.execute(
            sa.text(
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.source_id = '{source_id}' THEN "
                "RAISE EXCEPTION 'refused by a database rule'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        session.execute(
            sa.text(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON record "
                "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
            )
        )
    session.commit()


def _drop_rule(session) -> None:
    session.rollback()
    session.execute(
        sa.text(
            "DROP TRIGGER refuse_boom"
            if session.get_bind().dialect.name == "sqlite"
            else "DROP TRIGGER refuse_boom ON record; DROP FUNCTION refuse_boom()"
        )
    )
    session.commit()


def test_a_database_error_refuses_that_line_only(db_session, batch, do_import):
    _refuse_source_id_in_database(db_session, "BOOM")
    try:
        for source_id in ("A", "BOOM", "B"):
            batch.add(source_id, doc_number=source_id, files=[batch.file("files/a.png", png_scan())])
        result = do_import(batch.write(), chunk_size=10)
    finally:
        _drop_rule(db_session)

    assert result.summary == {"read": 3, "created": 2, "updated": 0, "unchanged": 0, "refused": 1}
    assert sorted(db_session.scalars(sa.select(Record.source_id))) == ["A", "B"]
    line = db_session.scalar(sa.select(ImportLine).where(ImportLine.line_no == 2))
    assert line.outcome == "refused" and line.errors[0]["code"] == "database"
    assert "refused by a database rule" in line.errors[0]["en"]
