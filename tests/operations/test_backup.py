"""`flask backup create | verify | restore` (issue 16, item 3): a backup made while the portal serves,
restored into a new data directory and a new empty database (SQLite: another file; PostgreSQL:
another database), holds every row, file, audit entry and issued copy; tampering and a wrong
passphrase are refused with nothing written."""

from __future__ import annotations

import hashlib
import shutil
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import audit
from portal.copy_requests.models import IssuedCopy
from portal.extensions import db
from portal.records.models import Document
from tests.conftest import PG_URL, TEST_DB
from tests.copy_requests.signing_builders import dev_ca, issuable, issue  # noqa: F401  (fixtures)
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures)

PASSPHRASE = "cau-giay-2026-backup"
#: Rows the restore adds on purpose: the rebuilt index's catch-up queue (portal/search/indexing.py).
CHANGED_BY_RESTORE = {"outbox"}


@pytest.fixture
def empty_target(tmp_path):
    """empty_target(name) → (data dir, database URL) of a new empty data directory and database.

    On PostgreSQL a new database (its public schema: the dump's own schema is renamed to it).
    Asked for before the apps, so that it is torn down after they closed their connections."""
    made: list[str] = []
    server = sa.engine.make_url(PG_URL)

    def build(name: str) -> tuple[Path, str]:
        data = tmp_path / f"{name}-data"
        if TEST_DB != "postgresql":
            return data, f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        database = f"restore_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {database}"))
        admin.dispose()
        made.append(database)
        return data, server._replace(database=database).render_as_string(hide_password=False)

    yield build
    if made:
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for database in made:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()


def canonical_dump(engine) -> dict[str, list[tuple]]:
    """Every row of every table but CHANGED_BY_RESTORE, ordered by primary key."""
    from portal.db import Base

    dump = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in CHANGED_BY_RESTORE:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            dump[table.name] = [tuple(row) for row in conn.execute(sa.select(table).order_by(*order))]
    return dump


def store_hashes(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def invoke(app, *args, passphrase: str = PASSPHRASE):
    """Run a command in a context of its own on ``app`` (a command runs on the app current, if any)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), env={"PORTAL_BACKUP_PASSPHRASE": passphrase})


def test_backup_while_serving_restores_everything(empty_target, app, make_app, make_record, issuable,  # noqa: F811
                                                  issue, tmp_path):  # noqa: F811
    records = [make_record(files=True) for _ in range(3)]
    request, clerk = issuable(record=records[0])
    issued = issue(request, clerk)
    for record in records:
        audit.record(db.session, "test:operator", "record.view", f"record:{record.source_id}")
        db.session.commit()
    assert invoke(app, "search", "reindex").exit_code == 0
    before = canonical_dump(db.engine)
    assert before["issued_copy"] and len(before["audit_log"]) >= 3 and len(before["record"]) == 3
    files_before = store_hashes(Path(app.config["FILES_ROOT"]))
    pki_before = tree_bytes(Path(app.config["COPY_PKI_DIR"]))
    checkpoints_before = Path(app.config["AUDIT_CHECKPOINT_PATH"]).read_bytes()

    # Pages keep being served while the backup runs.
    served, serving, stop = [], threading.Event(), threading.Event()
    page = f"/results/{records[2].source_id}"

    def serve():
        client = app.test_client()
        while not stop.is_set():
            served.append(client.get(page).status_code)
            serving.set()

    server = threading.Thread(target=serve)
    server.start()
    try:
        assert serving.wait(30)
        backup_dir = tmp_path / "backup"
        result = invoke(app, "backup", "create", str(backup_dir))
    finally:
        stop.set()
        server.join()
    assert result.exit_code == 0, result.output
    assert served and set(served) == {200}
    assert "3 kết quả/records" in result.output and "1 bản sao/issued copies" in result.output
    assert not list(backup_dir.glob(".partial-*"))
    make_record(files=True)  # after the backup: not in it

    assert invoke(app, "backup", "verify", str(backup_dir)).exit_code == 0
    assert invoke(app, "backup", "create", str(backup_dir)).exit_code == 1  # not an empty directory
    # The keys are not in the backup in the clear.
    key_pem = next(iter(pki_before.values()))
    assert all(key_pem not in p.read_bytes() for p in backup_dir.rglob("*") if p.is_file())

    data, url = empty_target("restored")
    restored = make_app(DATA_DIR=str(data), DATABASE_URL=url)
    result = invoke(restored, "backup", "restore", str(backup_dir))
    assert result.exit_code == 0, result.output
    with restored.app_context():
        assert canonical_dump(db.engine) == before
        assert store_hashes(Path(restored.config["FILES_ROOT"])) == files_before
        for sha in db.session.scalars(sa.select(Document.sha256)):
            assert files_before[sha] == sha
        copy = db.session.scalars(sa.select(IssuedCopy)).one()
        assert (copy.code, copy.sha256) == (issued.code, issued.sha256)
        db.session.remove()
    assert tree_bytes(Path(restored.config["COPY_PKI_DIR"])) == pki_before
    assert Path(restored.config["AUDIT_CHECKPOINT_PATH"]).read_bytes() == checkpoints_before
    verified = invoke(restored, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    checked = invoke(restored, "search", "check")
    assert checked.exit_code == 0, checked.output
    # The copy verifies on the restored portal.
    answer = restored.test_client().get(f"/api/v1/verifications/{issued.code}")
    assert answer.status_code == 200 and answer.get_json()["outcome"] != "unknown"
    # A second restore into the same place is refused: it is no longer empty.
    again = invoke(restored, "backup", "restore", str(backup_dir))
    assert again.exit_code == 1 and "empty" in again.output


def test_tampered_backup_and_wrong_passphrase_are_refused(empty_target, app, make_app,
                                                          make_record, tmp_path):  # noqa: F811
    make_record(files=True)
    backup_dir = tmp_path / "backup"
    assert invoke(app, "backup", "create", str(backup_dir)).exit_code == 0
    data, url = empty_target("refused")
    target = make_app(DATA_DIR=str(data), DATABASE_URL=url)

    def nothing_written():
        with target.app_context():
            assert not sa.inspect(db.engine).get_table_names()
            db.engine.dispose()
        assert not list(Path(target.config["FILES_ROOT"]).rglob("*"))

    wrong = invoke(target, "backup", "restore", str(backup_dir), passphrase="not the passphrase")
    assert wrong.exit_code == 1 and "wrong backup passphrase" in wrong.output
    nothing_written()

    tampered = tmp_path / "tampered"
    shutil.copytree(backup_dir, tampered)
    blob = next(p for p in (tampered / "files").rglob("*") if p.is_file())
    blob.write_bytes(blob.read_bytes()[:-1] + b"\0")
    name = blob.relative_to(tampered).as_posix()
    for command in ("verify", "restore"):
        result = invoke(target, "backup", command, str(tampered))
        assert result.exit_code == 1 and f"file {name} does not match" in result.output
    nothing_written()


@pytest.mark.skipif(TEST_DB == "postgresql", reason="the file store and the prompt: no database difference")
def test_altered_blob_is_left_out_and_the_passphrase_is_asked(app, make_record, tmp_path):  # noqa: F811
    make_record(files=True)
    blob = next(p for p in Path(app.config["FILES_ROOT"]).rglob("*") if p.is_file())
    blob.write_bytes(b"bit rot")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "b")],
                                              input=f"{PASSPHRASE}\n{PASSPHRASE}\n",
                                              env={"PORTAL_BACKUP_PASSPHRASE": None})
    assert result.exit_code == 1, result.output
    assert f"{blob} is altered in the store, left out" in result.output
    assert "1 tệp/files" in result.output  # the other blob
    assert not (tmp_path / "b" / "files" / blob.name[:2] / blob.name[2:4] / blob.name).exists()
    assert invoke(app, "backup", "verify", str(tmp_path / "b")).exit_code == 0
