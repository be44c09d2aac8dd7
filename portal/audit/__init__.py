"""The audit log: ``from portal import audit; audit.record(session, actor, action, object_ref)``.

chain.py: the entries, their keyed hash chain, append and verify. keys.py: the audit keys, kept
outside the database. checkpoints.py: the signed head written outside the database after each
commit. cli.py: `flask audit verify | new-key | checkpoint`. Operators: docs/audit.md.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from portal.audit import keys
from portal.audit.chain import EXTENSION, GENESIS, PRUNED, AuditEntry, ChainReport, current, prune_before, record, verify
from portal.audit.checkpoints import Checkpoints
from portal.audit.cli import audit_cli
from portal.audit.keys import AuditKeyMissing

__all__ = ["GENESIS", "PRUNED", "AuditEntry", "AuditKeyMissing", "ChainReport", "audit_cli", "current",
           "init_app", "prune_before", "record", "verify"]


def init_app(app: Flask) -> None:
    """Load the keyring (refusing to start without one outside development and tests: raises
    AuditKeyMissing) and make the checkpoint file's directory."""
    keyring = keys.load(app.config)
    path = Path(app.config["AUDIT_CHECKPOINT_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    app.extensions[EXTENSION] = Checkpoints(keyring, path, fsync=bool(app.config["AUDIT_CHECKPOINT_FSYNC"]))
