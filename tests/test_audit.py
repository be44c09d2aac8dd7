"""The audit log's chain: it holds when untouched, and names what was tampered with.

The attacker of these tests can write the database but holds none of the portal's secrets: not the
audit key (outside the database) and not the checkpoint file (outside it too).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import threading
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from portal import audit, create_app
from portal.db import utcnow
from tests.conftest import TEST_DB


def _append(session, n: int, start: int = 0) -> list[int]:
    """n accesses, each committed on its own as a request does: one checkpoint line each."""
    ids = []
    for i in range(start, start + n):
        entry = audit.record(session, "staff:1", "record.view", f"record:HN-{i}", purpose="kiểm tra hồ sơ",
                             details={"page": i})
        ids.append(entry.id)
        session.commit()
    return ids


def _plain_sha256(entry) -> str:
    """The hash anyone can recompute: the chain's algorithm before the audit key."""
    body = json.dumps([entry.at.astimezone(UTC).isoformat(), entry.actor, entry.action, entry.object_ref,
                       entry.channel, entry.purpose, entry.details, entry.subject_id, entry.prev_hash],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _rewrite(session, start_id: int, digest, **changes) -> None:
    """What a database writer does to hide an edit: relink and rehash every entry from start_id on."""
    previous = audit.GENESIS
    for entry in session.scalars(sa.select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all():
        if entry.id >= start_id:
            for name, value in changes.items():
                setattr(entry, name, value)
            entry.prev_hash = previous
            entry.hash = digest(entry)
        previous = entry.hash
    session.commit()


def _checkpoint_lines(app) -> list[dict]:
    path = app.config["AUDIT_CHECKPOINT_PATH"]
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_untouched_chain_verifies(app, db_session, runner):
    _append(db_session, 5)
    report = audit.verify(db_session)
    assert report.ok and report.checked == 5
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "nguyên vẹn: 5" in result.output


def test_an_edited_entry_is_found(app, db_session, runner):
    ids = _append(db_session, 5)
    db_session.execute(sa.text("UPDATE audit_log SET purpose = 'xem cho vui' WHERE id = :id"), {"id": ids[2]})
    db_session.commit()
    report = audit.verify(db_session)
    assert (report.broken_at, report.checked) == (ids[2], 2) and "edited" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"#{ids[2]}" in result.output


def test_a_deleted_entry_breaks_the_link_of_the_next(app, db_session):
    ids = _append(db_session, 5)
    db_session.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    db_session.commit()
    report = audit.verify(db_session)
    assert report.broken_at == ids[2] and "removed" in report.reason


@pytest.mark.parametrize("removed", [1, 2])
def test_removing_the_last_entries_is_caught_by_the_checkpoint(app, db_session, runner, removed):
    # Nothing follows the last entries, so no link breaks: only the checkpoint outside the database knows.
    ids = _append(db_session, 5)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    db_session.execute(sa.text("DELETE FROM audit_log WHERE id >= :id"), {"id": ids[-removed]})
    db_session.commit()
    report = audit.verify(db_session)
    assert report.broken_at == ids[-1] and "last entries were removed" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"#{ids[-1]}" in result.output and "các mục cuối đã bị xoá" in result.output


@pytest.mark.parametrize("rewritten_from", [2, 0], ids=["from-the-edited-entry", "the-whole-chain"])
def test_an_edit_rehashed_with_plain_sha256_is_caught(app, db_session, runner, rewritten_from):
    # The attacker read the code: edits an entry and recomputes the chain from there as plain
    # SHA-256 entries (the only hash they can compute), or rewrites the whole chain as "legacy".
    ids = _append(db_session, 5)
    edited = db_session.get(audit.AuditEntry, ids[2])
    edited.purpose = "đã sửa"
    changes = {"key_id": None} if hasattr(audit.AuditEntry, "key_id") else {}
    _rewrite(db_session, ids[rewritten_from], _plain_sha256, **changes)
    report = audit.verify(db_session)
    if rewritten_from:  # a plain entry after keyed ones
        assert report.broken_at == ids[2] and "no key after keyed entries" in report.reason
    else:  # a valid legacy chain, but not the one the checkpoint signed
        assert report.broken_at == ids[-1] and "differs from its checkpoint" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"#{report.broken_at}" in result.output


def test_an_entry_rehashed_without_the_key_is_caught(app, db_session, runner):
    from portal.audit import chain, keys

    ids = _append(db_session, 4)
    guessed = b"not-the-audit-key-" + b"0" * 32
    entry = db_session.get(audit.AuditEntry, ids[-1])
    entry.purpose = "đã sửa"

    def mac(e) -> str:
        return hmac.new(guessed, chain._body(e), hashlib.sha256).hexdigest()

    _rewrite(db_session, ids[-1], mac)  # under the real key's id
    report = audit.verify(db_session)
    assert report.broken_at == ids[-1] and "recomputed without the audit key" in report.reason
    _rewrite(db_session, ids[-1], mac, key_id=keys.key_id(guessed))  # under the guessed key's own id
    report = audit.verify(db_session)
    assert report.broken_at == ids[-1] and "not in the keyring" in report.reason
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_a_rolled_back_entry_leaves_no_checkpoint(app, db_session):
    ids = _append(db_session, 2)
    assert [(line["id"], line["hash"]) for line in _checkpoint_lines(app)] == [
        (i, db_session.get(audit.AuditEntry, i).hash) for i in ids]
    audit.record(db_session, "staff:1", "record.view", "record:HN-rolled-back")
    db_session.rollback()
    db_session.commit()  # a later commit of the same session must not write the forgotten head
    assert [line["id"] for line in _checkpoint_lines(app)] == ids
    # A savepoint rolled back takes its entry along; the outer transaction's entry is the head.
    outer = audit.record(db_session, "staff:1", "record.view", "record:HN-outer")
    savepoint = db_session.begin_nested()
    audit.record(db_session, "staff:1", "record.view", "record:HN-savepoint")
    savepoint.rollback()
    outer_id, outer_hash = outer.id, outer.hash
    db_session.commit()
    assert [(line["id"], line["hash"]) for line in _checkpoint_lines(app)][-1] == (outer_id, outer_hash)
    # A released savepoint is committed with its transaction, not before.
    with db_session.begin_nested():
        kept = audit.record(db_session, "staff:1", "record.view", "record:HN-kept").id
    assert [line["id"] for line in _checkpoint_lines(app)] == [*ids, outer_id]
    db_session.commit()
    assert [line["id"] for line in _checkpoint_lines(app)] == [*ids, outer_id, kept]
    assert audit.verify(db_session).ok


def _append_concurrently(apps, threads: int, each: int = 15) -> tuple[list[int], list]:
    """Threads appending and committing at once, spread over the apps; the ids committed and the
    SQLite busy errors (an append refused, never a forked chain)."""
    committed, errors = [], []

    def writer(app, start: int) -> None:
        with app.app_context():
            from portal.extensions import db

            for i in range(start, start + each):
                try:
                    entry_id = audit.record(db.session, "staff:1", "record.view", f"record:HN-{i}").id
                    db.session.commit()
                    committed.append(entry_id)
                except sa.exc.OperationalError as error:
                    db.session.rollback()
                    errors.append(error)
            db.session.remove()

    running = [threading.Thread(target=writer, args=(apps[n % len(apps)], n * 100)) for n in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return committed, errors


def test_two_app_instances_keep_one_checkpoint_file(make_app):
    # Two gunicorn workers: two apps, one database, one checkpoint file, appending at the same time.
    apps = [make_app(), make_app()]
    assert apps[0].config["AUDIT_CHECKPOINT_PATH"] == apps[1].config["AUDIT_CHECKPOINT_PATH"]
    committed, errors = _append_concurrently(apps, threads=4)
    lines = _checkpoint_lines(apps[0])
    assert sorted(line["id"] for line in lines) == sorted(committed)  # one whole line per commit
    with apps[1].app_context():
        from portal.extensions import db

        report = audit.verify(db.session)
        assert report.ok, report
        assert report.checkpoint.id == report.head == max(committed) and report.checkpoint_lines == len(lines)
    if TEST_DB == "postgresql":
        assert not errors and len(committed) == 60


def _legacy_rows(session, n: int) -> list[int]:
    """Rows as the chain wrote them before the audit key (plain SHA-256), inserted as the migration
    leaves them."""
    previous, ids = audit.GENESIS, []
    for i in range(n):
        entry = audit.AuditEntry(actor="staff:1", action="record.view", object_ref=f"record:OLD-{i}",
                                 channel="web", purpose="", details={}, at=audit.chain.utcnow(),
                                 prev_hash=previous)
        entry.hash = previous = _plain_sha256(entry)
        session.add(entry)
        session.flush()
        ids.append(entry.id)
    session.commit()
    return ids


def test_legacy_rows_then_keyed_rows_verify(app, db_session, runner):
    legacy = _legacy_rows(db_session, 3)
    assert audit.verify(db_session).ok  # before any keyed entry: no checkpoint needed yet
    keyed = _append(db_session, 2)
    report = audit.verify(db_session)
    assert report.ok and report.legacy == 3 and report.keyed == {audit.current().keyring.current: 2}
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "legacy segment (plain SHA-256, before the audit key): 3 entries" in result.output
    # The legacy segment is pinned by the first keyed entry: rewriting it breaks that link.
    old = db_session.get(audit.AuditEntry, legacy[1])
    old.purpose = "đã sửa"
    _rewrite(db_session, legacy[1], _plain_sha256)
    db_session.execute(sa.text("UPDATE audit_log SET prev_hash = :h WHERE id = :id"),
                       {"h": db_session.get(audit.AuditEntry, keyed[0]).prev_hash, "id": keyed[0]})
    assert audit.verify(db_session).broken_at == keyed[0]


def test_checkpoint_lines_are_checked(app, db_session, runner):
    ids = _append(db_session, 3)
    path = app.config["AUDIT_CHECKPOINT_PATH"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    # A crash between a commit and its checkpoint leaves the file behind the database: allowed.
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(lines[:-1])
        handle.write(lines[-1][:40])  # and a torn last line: ignored
    report = audit.verify(db_session)
    assert report.ok and report.checkpoint.id == ids[-2] and report.head == ids[-1]
    # A line whose signature does not hold (forged, or edited) is named.
    forged = json.loads(lines[-1]) | {"id": ids[-1] + 5}
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines([*lines, json.dumps(forged) + "\n"])
    report = audit.verify(db_session)
    assert not report.ok and f"line {len(lines) + 1} of the checkpoint file" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"dòng {len(lines) + 1}" in result.output
    # Keyed entries and no checkpoint at all: the file was lost or is looked for elsewhere.
    os.remove(path)
    report = audit.verify(db_session)
    assert not report.ok and "no checkpoint" in report.reason


def test_the_checkpoint_command_pins_the_legacy_head(app, db_session, runner):
    legacy = _legacy_rows(db_session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    db_session.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": legacy[-1]})
    db_session.commit()
    assert audit.verify(db_session).broken_at == legacy[-1]


@pytest.mark.parametrize("env", ["production", "staging"])
def test_no_audit_key_refuses_to_start_outside_development(tmp_path, monkeypatch, env):
    monkeypatch.delenv("PORTAL_AUDIT_KEYS", raising=False)
    config = {"DATA_DIR": str(tmp_path), "ENV": env, "SECRET_KEY": "s" * 32}
    with pytest.raises(RuntimeError, match="No audit key: set PORTAL_AUDIT_KEY_FILE"):
        create_app(config)
    assert not (tmp_path / "secrets").exists()  # no key made up where nobody would back it up
    with pytest.raises(RuntimeError, match="shorter than 32"):
        create_app(config | {"AUDIT_KEYS": "short"})
    with pytest.raises(RuntimeError, match="no such file"):
        create_app(config | {"AUDIT_KEY_FILE": str(tmp_path / "missing.keys")})
    key_file = tmp_path / "audit.keys"
    key_file.write_text("# rotated 2026-12\n" + "a" * 64 + "\n" + "b" * 64 + "\n")
    app = create_app(config | {"AUDIT_KEY_FILE": str(key_file)})
    keyring = app.extensions["portal.audit"].keyring
    assert set(keyring.keys) == {audit.keys.key_id(b"a" * 64), audit.keys.key_id(b"b" * 64)}
    assert keyring.current == audit.keys.key_id(b"b" * 64) and "b" * 64 not in repr(keyring)


def test_development_makes_a_private_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_AUDIT_KEYS", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "ENV": "development"})
    key_file = tmp_path / "secrets" / "audit.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = create_app({"DATA_DIR": str(tmp_path), "ENV": "development"})  # a restart keeps the key
    assert again.extensions["portal.audit"].keyring.current == app.extensions["portal.audit"].keyring.current


def test_a_rotated_key_starts_a_segment_and_the_old_one_still_verifies(make_app, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_AUDIT_KEYS", raising=False)
    key_file = tmp_path / "audit.keys"
    key_file.write_text("c" * 64 + "\n")
    first = make_app(AUDIT_KEY_FILE=str(key_file))
    with first.app_context():
        from portal.extensions import db

        _append(db.session, 2)
        db.session.remove()
    assert first.test_cli_runner().invoke(args=["audit", "new-key"]).exit_code == 0
    second = make_app(AUDIT_KEY_FILE=str(key_file))  # the restart after a rotation
    old, new = (app.extensions["portal.audit"].keyring.current for app in (first, second))
    assert old != new
    with second.app_context():
        from portal.extensions import db

        _append(db.session, 3)
        report = audit.verify(db.session)
        assert report.ok and report.keyed == {old: 2, new: 3}
        db.session.remove()
    key_file.write_text(key_file.read_text().splitlines()[-1] + "\n")  # the retired key lost
    third = make_app(AUDIT_KEY_FILE=str(key_file))
    with third.app_context():
        from portal.extensions import db

        report = audit.verify(db.session)
        assert not report.ok and f"key {old}, which is not in the keyring" in report.reason


def test_concurrent_writers_keep_one_chain(make_app):
    # Two requests logging accesses at the same moment must not both chain to the same entry.
    app = make_app()
    committed, errors = _append_concurrently([app], threads=3)
    with app.app_context():
        from portal.extensions import db

        report = audit.verify(db.session)
        assert report.ok, report
        assert report.checked == len(committed) == 45 - len(errors)
        if TEST_DB == "postgresql":
            assert not errors


def _age(session, ids: list[int], days: int) -> None:
    """Entries written `days` ago: `at` is in the hash, so rehash them with the key, as written then."""
    keyring = audit.current().keyring
    from portal.audit.chain import _digest

    previous = audit.GENESIS
    for entry in session.scalars(sa.select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all():
        if entry.id in ids:
            entry.at = entry.at - timedelta(days=days)
        entry.prev_hash = previous
        entry.hash = _digest(entry, keyring)
        previous = entry.hash
    session.commit()
    _append(session, 1, start=99)  # a new head, checkpointed after the rehash


def test_retention_removes_the_oldest_entries_and_the_chain_still_verifies(app, db_session):
    ids = _append(db_session, 6)
    _age(db_session, ids[:4], days=400)
    removed = audit.prune_before(db_session, utcnow() - timedelta(days=365), batch=2)
    assert removed == 4
    left = db_session.scalars(sa.select(audit.AuditEntry.id).order_by(audit.AuditEntry.id)).all()
    assert left[:2] == ids[4:] and db_session.get(audit.AuditEntry, left[-1]).action == audit.PRUNED
    assert audit.verify(db_session).ok
    assert audit.prune_before(db_session, utcnow() - timedelta(days=365)) == 0  # nothing twice
    _append(db_session, 2, start=10)
    assert audit.verify(db_session).ok


def test_removing_more_than_retention_removed_is_caught(app, db_session):
    ids = _append(db_session, 6)
    _age(db_session, ids[:3], days=400)
    audit.prune_before(db_session, utcnow() - timedelta(days=365))
    db_session.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[3]})  # the first kept
    db_session.commit()
    report = audit.verify(db_session)
    assert report.broken_at == ids[4] and "removed" in report.reason


def test_a_crash_between_the_marker_and_the_removal_still_verifies(app, db_session):
    ids = _append(db_session, 5)
    _age(db_session, ids[:2], days=400)
    audit.prune_before(db_session, utcnow() - timedelta(days=365), max_batches=0)  # marker only
    assert db_session.get(audit.AuditEntry, ids[0]) is not None
    assert audit.verify(db_session).ok  # the rows still waiting are outside the chain
    assert audit.prune_before(db_session, utcnow() - timedelta(days=365)) == 2  # the next run ends it
    assert audit.verify(db_session).ok
