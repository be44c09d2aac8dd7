"""A PostgreSQL server of the test's own (initdb on a free loopback port), to restart at will.

Fault tests restart the database under a running portal; the machine's shared server (5432) is
never touched. The server binaries are PostgreSQL's own (Debian's postgresql package); as root,
they run as the ``postgres`` user, as PostgreSQL requires.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """initdb'd, started, restarted (fast: in-flight connections are cut) and removed."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL's server binaries (pg_ctl, initdb) are not installed")
        self.root = Path(tempfile.mkdtemp(prefix="portal-pg-"))  # not under root's 0700 pytest dir
        self.port = _free_port()
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/portal"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)

    def _ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-m", "fast", "-w",
                  action)

    def start(self) -> Cluster:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        self._ctl("start")
        engine = sa.create_engine(self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE portal"))
        engine.dispose()
        return self

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def migrated(cluster: Cluster, data_dir: Path) -> str:
    """Migrate the cluster's database to head with the reference data, as the suite's template is."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.refdata import sync_all

    app = create_app({"TESTING": True, "DATABASE_URL": cluster.url, "DATA_DIR": str(data_dir)})
    with app.app_context():
        upgrade()
        sync_all(db.session)
        db.session.commit()
        db.engine.dispose()
    return cluster.url


# Fixtures for a test module: ``from tests.pg_cluster import cluster, database  # noqa: F401``.


@pytest.fixture(scope="module")
def cluster():
    server = Cluster().start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def database(cluster, tmp_path_factory):
    """The suite's `database` fixture (tests/conftest.py), on the module's own server."""
    url = migrated(cluster, tmp_path_factory.mktemp("own-server"))
    yield lambda: url
