"""`flask doctor`: a healthy app passes, and each fault is found with the real component at fault.

Faults are real where they can be: the database stamped at an older revision, the index directory
removed, a consumer that stopped (a real huey consumer beat, then time passes), an expired
certificate on disk, a closed SMTP port and a stopped SMTP server, an unreachable OpenID issuer, a
disk threshold above the real free share.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from huey import SqliteHuey
from sqlalchemy import select

from portal.copy_requests import devca
from portal.extensions import db
from portal.operations import doctor, heartbeat
from portal.search.indexing import reindex
from portal.units.models import AdminUnit, UnitSystem

#: Checks that read no database run once, in the SQLite run: PostgreSQL would change nothing they see.
sqlite_only = pytest.mark.skipif(os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
                                 reason="no database involved: checked once, in the SQLite run")


def _by_name(results):
    return {r.name: r for r in results}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def healthy(make_app):
    """An app whose every component is usable: index built, a unit signing key, mail suppressed."""
    app = make_app()
    with app.app_context():
        reindex(db.session)
        unit = db.session.scalar(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT).limit(1))
        devca.ensure_unit(app.config, unit)
        yield app


def test_a_healthy_app_passes(healthy):
    results = doctor.run(healthy)
    found = _by_name(results)
    assert doctor.worst(results) != doctor.FAIL, [r for r in results if r.status == doctor.FAIL]
    for name in ("config.secret_key", "config.audit_keys", "config.files_root", "database", "search",
                 "mail", "signing", "disk.data_dir"):
        assert found[name].status == doctor.OK, found[name]
    assert all(r.vi and r.en and r.vi != r.en for r in results)
    assert "1 signing key(s)" in found["signing"].en


def test_cli_prints_a_table_and_json_and_exits_0_without_fail(healthy):
    runner = healthy.test_cli_runner()
    table = runner.invoke(args=["doctor"])
    assert table.exit_code == 0, table.output
    assert "database" in table.output and "Kết quả / result:" in table.output
    answer = runner.invoke(args=["doctor", "--json"])
    assert answer.exit_code == 0
    body = json.loads(answer.output)
    assert body["status"] in ("OK", "WARN")
    assert {c["name"] for c in body["checks"]} >= {"database", "search", "mail", "signing", "oidc"}


def test_database_at_an_older_revision_fails_and_exits_1(healthy):
    from alembic.script import ScriptDirectory
    from flask_migrate import stamp

    script = ScriptDirectory(healthy.extensions["migrate"].directory)
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    stamp(revision=previous)
    try:
        [result] = doctor.check_database(healthy)
        assert result.status == doctor.FAIL
        assert previous in result.en and head in result.en and "flask db upgrade" in result.en
        outcome = healthy.test_cli_runner().invoke(args=["doctor"])
        assert outcome.exit_code == 1
    finally:
        stamp(revision="head")  # PostgreSQL: alembic_version is kept between tests
    assert doctor.check_database(healthy)[0].status == doctor.OK


def test_index_directory_removed_fails(healthy):
    shutil.rmtree(healthy.config["SEARCH_INDEX_DIR"])
    [result] = doctor.check_search(healthy)
    assert result.status == doctor.FAIL and "reindex" in result.en


def test_index_out_of_step_fails(healthy):
    from portal.search import get_search

    get_search().upsert([{"id": "not-in-the-database", "digest": "x", "title": "ghost"}])
    [result] = doctor.check_search(healthy)
    assert result.status == doctor.FAIL and "extra=1" in result.en


@sqlite_only
def _start_a_consumer_until_it_beats(queue) -> None:
    """A real consumer: its worker beats on start, as huey_consumer does; stopped once it has."""
    consumer = queue.create_consumer(workers=1, periodic=False, check_worker_health=False)
    consumer.start()
    deadline = time.monotonic() + 5
    while heartbeat.last_beat(queue) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    consumer.stop(graceful=True)


def test_queue_consumer_alive_then_not(healthy, tmp_path):
    queue = SqliteHuey("doctor-test", filename=str(tmp_path / "queue.sqlite3"))
    heartbeat.install(queue)
    never = SqliteHuey("doctor-idle", filename=str(tmp_path / "idle.sqlite3"))
    _start_a_consumer_until_it_beats(queue)
    queues = {"huey": queue, "ocr_huey": never}
    now = time.time()
    found = _by_name(doctor.check_queues(healthy, queues, now=now))
    assert found["queue.huey"].status == doctor.OK
    assert found["queue.ocr_huey"].status == doctor.FAIL and "never" in found["queue.ocr_huey"].en
    # The consumer stays stopped: 5 minutes on it is a warning, 11 a failure.
    assert doctor.check_queues(healthy, queues, now=now + 300)[0].status == doctor.WARN
    late = doctor.check_queues(healthy, queues, now=now + 660)[0]
    assert late.status == doctor.FAIL and "huey_consumer portal.worker.huey" in late.en


@sqlite_only
def test_immediate_queues_need_no_consumer(healthy):
    assert {r.status for r in doctor.check_queues(healthy)} == {doctor.OK}


def _certificate(directory: Path, days_left: float) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UBND phường thử")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=400)).not_valid_after(now + timedelta(days=days_left))
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True)
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@sqlite_only
def test_expired_and_expiring_certificates(healthy):
    units = Path(healthy.config["COPY_PKI_DIR"]) / "units"
    _certificate(units / "99998", days_left=12)
    [soon] = doctor.check_signing(healthy)
    assert soon.status == doctor.WARN and "99998" in soon.en and "expires in" in soon.en
    _certificate(units / "99999", days_left=-3)
    [expired] = doctor.check_signing(healthy)
    assert expired.status == doctor.FAIL and "99999" in expired.en and "expired" in expired.en


@sqlite_only
def test_a_unit_key_without_its_certificate_fails(healthy):
    units = Path(healthy.config["COPY_PKI_DIR"]) / "units"
    _certificate(units / "99997", days_left=365)
    (units / "99997" / "cert.pem").unlink()
    [result] = doctor.check_signing(healthy)
    assert result.status == doctor.FAIL and "missing" in result.en


@sqlite_only
def test_disk_thresholds_above_the_real_free_share(make_app):
    app = make_app(DOCTOR_DISK_WARN_PERCENT=100.0)
    assert {r.status for r in doctor.check_disk(app)} == {doctor.WARN}
    app = make_app(DOCTOR_DISK_WARN_PERCENT=100.0, DOCTOR_DISK_FAIL_PERCENT=100.0)
    [result, *_] = doctor.check_disk(app)
    assert result.status == doctor.FAIL and "below 100 %" in result.en


@sqlite_only
def test_smtp_answering_then_stopped_then_a_closed_port(make_app, smtp_server):
    app = make_app(**smtp_server.config())
    assert doctor.check_mail(app)[0].status == doctor.OK
    smtp_server.stop()
    try:
        started = time.monotonic()
        [down] = doctor.check_mail(app)
        assert down.status == doctor.FAIL and "outbox" in down.en
        assert time.monotonic() - started < 5
    finally:
        smtp_server.start()
    closed = make_app(**{**smtp_server.config(), "MAIL_PORT": _closed_port()})
    assert doctor.check_mail(closed)[0].status == doctor.FAIL


class _Discovery(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        issuer = f"http://127.0.0.1:{self.server.server_port}"
        body = json.dumps({"issuer": issuer, "authorization_endpoint": f"{issuer}/auth",
                           "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks"}).encode()
        status = 200 if self.path == "/.well-known/openid-configuration" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@sqlite_only
def test_oidc_discovery_reachable_then_unreachable(make_app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        issuer = f"http://127.0.0.1:{server.server_port}"
        assert doctor.check_oidc(make_app(OIDC_ISSUER=issuer))[0].status == doctor.OK
        [wrong] = doctor.check_oidc(make_app(OIDC_ISSUER=issuer + "/elsewhere"))
        assert wrong.status == doctor.FAIL
    finally:
        server.shutdown()
        server.server_close()
    [down] = doctor.check_oidc(make_app(OIDC_ISSUER=f"http://127.0.0.1:{_closed_port()}"))
    assert down.status == doctor.FAIL and "Citizens cannot log in" in down.en


@sqlite_only
def test_a_weak_secret_key_fails_outside_development(make_app):
    app = make_app(TESTING=False, ENV="production", SECRET_KEY="change-me")
    found = _by_name(doctor.check_config(app))
    assert found["config.secret_key"].status == doctor.FAIL
    assert found["config.audit_keys"].status == doctor.OK  # PORTAL_AUDIT_KEYS, as deployed


@sqlite_only
def test_a_check_that_hangs_is_a_failure_in_bounded_time(healthy):
    def hangs(app):
        time.sleep(10)
        return []

    started = time.monotonic()
    [result] = doctor.run(healthy, checks=(("slow", hangs),), seconds=0.3)
    assert time.monotonic() - started < 2
    assert result.status == doctor.FAIL and result.name == "slow"


REDIS_URL = "redis://127.0.0.1:6379/15"


@sqlite_only
def test_queue_on_redis_alive_then_redis_unreachable(healthy):
    import uuid

    from huey import RedisHuey

    queue = RedisHuey(f"doctor-{uuid.uuid4().hex[:8]}", url=REDIS_URL)
    heartbeat.install(queue)
    try:
        _start_a_consumer_until_it_beats(queue)
        [alive] = doctor.check_queues(healthy, {"huey": queue})
        assert alive.status == doctor.OK and "Redis" in alive.en
    finally:
        queue.flush()
    down = RedisHuey("doctor-down", url="redis://127.0.0.1:1/0")  # nothing listens
    [result] = doctor.check_queues(healthy, {"huey": down})
    assert result.status == doctor.FAIL and "unreachable" in result.en


def test_a_busy_import_consumer_counts_as_alive(healthy, tmp_path):
    from portal.imports.job_models import ImportJob, JobStatus

    queue = SqliteHuey("doctor-import", filename=str(tmp_path / "import.sqlite3"))
    heartbeat.beat(queue, now=time.time() - 3600)  # its last beat an hour ago: an import since
    assert doctor.check_queues(healthy, {"import_huey": queue})[0].status == doctor.FAIL
    unit = db.session.scalar(select(AdminUnit).limit(1))
    job = ImportJob(unit_id=unit.id, filename="lo.zip", path=str(tmp_path / "lo.zip"),
                    status=JobStatus.RUNNING, heartbeat_at=datetime.now(UTC))
    db.session.add(job)
    db.session.commit()
    [busy] = doctor.check_queues(healthy, {"import_huey": queue})
    assert busy.status == doctor.OK and f"#{job.id}" in busy.en


def test_in_production_a_unit_with_staff_but_no_key_fails(make_app, app, make_staff, tmp_path):
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                     AdminUnit.level == "commune").limit(1))
    make_staff(role="clerk", units=[unit])
    production = make_app(TESTING=False, ENV="production", SECRET_KEY="k" * 64,
                          COPY_PKI_DIR=str(tmp_path / "pki"))
    _certificate(tmp_path / "pki" / "units" / "99996", days_left=365)
    with production.app_context():
        [result] = doctor.check_signing(production)
    assert result.status == doctor.FAIL and unit.code in result.en and "no signing key" in result.en
    _certificate(tmp_path / "pki" / "units" / unit.code, days_left=365)
    with production.app_context():
        [result] = doctor.check_signing(production)
    assert result.status == doctor.OK and "2 signing key(s)" in result.en
