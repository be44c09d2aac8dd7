"""The audit log's hash chain: it holds when untouched, and names the first entry that was tampered with."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from portal import audit
from tests.conftest import TEST_DB


def _append(session, n: int, start: int = 0) -> list[int]:
    ids = []
    for i in range(start, start + n):
        entry = audit.record(session, "staff:1", "record.view", f"record:HN-{i}", purpose="kiểm tra hồ sơ",
                             details={"page": i})
        ids.append(entry.id)
    session.commit()
    return ids


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


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(app, db_session):
    ids = _append(db_session, 3)
    forged = db_session.get(audit.AuditEntry, ids[0])
    forged.purpose = "đã sửa"
    forged.hash = audit._digest(forged)
    db_session.commit()
    assert audit.verify(db_session).broken_at == ids[1]


def test_concurrent_writers_keep_one_chain(make_app):
    # Two requests logging accesses at the same moment must not both chain to the same entry.
    app = make_app()
    errors = []

    def writer(start: int) -> None:
        with app.app_context():
            from portal.extensions import db

            for i in range(start, start + 15):
                try:
                    audit.record(db.session, "staff:1", "record.view", f"record:HN-{i}")
                    db.session.commit()
                except sa.exc.OperationalError as error:  # SQLite: busy, never forked
                    db.session.rollback()
                    errors.append(error)
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(n * 100,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        from portal.extensions import db

        report = audit.verify(db.session)
        assert report.ok, report
        assert report.checked == 45 - len(errors)
        if TEST_DB == "postgresql":
            assert not errors
