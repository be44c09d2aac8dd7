"""The systemd units and settings of deploy/ (issue 16, item 1) agree with the code they run.

`systemd-analyze verify` checks the units' syntax and every directive (the paths of the checkout
and its venv put in place of /opt/portal); the worker instances are the consumers
scripts/run-portal.sh starts; every PORTAL_* of the example environment is one the portal reads.
Files only: the suite's PostgreSQL run skips this module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portal import ROOT
from portal.config import Config

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
    reason="checks files only: run once, in the SQLite run")

UNITS = ROOT / "deploy" / "systemd"
INSTANCES = ("index", "general", "ocr", "import")


def _instances() -> dict[str, tuple[str, str]]:
    """Each worker instance's queue and threads, from deploy/systemd/worker-<instance>.env."""
    found = {}
    for path in sorted(UNITS.glob("worker-*.env")):
        values = dict(re.findall(r"^(\w+)=(\S+)$", path.read_text(), re.M))
        found[path.stem.removeprefix("worker-")] = (values["WORKER_QUEUE"], values["WORKER_THREADS"])
    return found


def test_one_worker_instance_per_consumer_run_portal_starts():
    run_portal = (ROOT / "scripts" / "run-portal.sh").read_text()
    started = re.findall(r"^huey_consumer (\S+) --workers (\d+)", run_portal, re.M)
    assert sorted(_instances().values()) == sorted(started)
    assert sorted(_instances()) == sorted(INSTANCES)
    target = (UNITS / "portal.target").read_text()
    assert all(f"portal-worker@{name}.service" in target for name in INSTANCES)
    assert "portal-web.service" in target


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed: "
                    "deploy/README.md gives the same check to run on the server")
def test_systemd_accepts_the_units(tmp_path):
    venv = Path(sys.executable).parent.parent
    names = ["portal-web.socket", "portal-web.service", "portal-worker@.service", "portal.target"]
    for name in names:
        text = (UNITS / name).read_text().replace("/opt/portal/venv", str(venv))
        (tmp_path / name).write_text(text.replace("/opt/portal/app", str(ROOT)))
    workers = [f"portal-worker@{name}.service" for name in INSTANCES]
    units = ["portal-web.socket", "portal-web.service", *workers, "portal.target"]
    run = subprocess.run(["systemd-analyze", "verify", *units], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


def test_the_example_environment_names_only_settings_the_portal_reads():
    example = (ROOT / "deploy" / "portal.env.example").read_text()
    set_here = re.findall(r"^(PORTAL_\w+)=", example, re.M)
    assert len(set_here) == len(set(set_here)) and "PORTAL_SECRET_KEY" in set_here
    names = set(re.findall(r"^#?(PORTAL_\w+)=", example, re.M))  # commented alternatives too
    files = [*(ROOT / "portal").rglob("*.py"), ROOT / "gunicorn.conf.py"]
    sources = "\n".join(path.read_text() for path in files)
    unknown = [name for name in sorted(names)
               if not hasattr(Config, name.removeprefix("PORTAL_")) and f'"{name}"' not in sources
               and f'"{name.removeprefix("PORTAL_")}"' not in sources]
    assert not unknown
