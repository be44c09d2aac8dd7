"""The audit keys: HMAC keys of the chain and of its checkpoints, kept outside the database.

Someone who can write the database but not the portal's secrets must not be able to rewrite the
chain: a plain hash anyone can recompute, an HMAC only whoever holds the key. So the key never
goes into the database, and it is not derived from SECRET_KEY either: rotating SECRET_KEY (a
leaked session key) must not make the past chain unverifiable.

A keyring is one or more keys; the last one signs new entries and checkpoints, the earlier ones
(retired by a rotation) only verify. Each entry names its key by id, so verify picks the right one:

- ``AUDIT_KEYS`` (``PORTAL_AUDIT_KEYS``): the keys, separated by commas or blanks; or
- ``AUDIT_KEY_FILE`` (``PORTAL_AUDIT_KEY_FILE``): a file with one key a line (``#`` comments).
- Neither: in development and tests ``DATA_DIR/secrets/audit.keys`` is created (0600) on first
  use; elsewhere create_app refuses to start.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from portal.config import allows_development_shortcuts

#: A key id is this many hex digits of the key's SHA-256: enough to tell a handful of keys apart.
KEY_ID_LENGTH = 8
#: Shorter keys are refused: a guessable key lets the database writer recompute the chain.
MIN_KEY_LENGTH = 32
_SEPARATORS = re.compile(r"[\s,]+")


class AuditKeyMissing(RuntimeError):
    """No usable audit key is configured where one is required."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:KEY_ID_LENGTH]


def new_key() -> str:
    return secrets.token_hex(32)


@dataclass(frozen=True)
class Keyring:
    #: Key id → key: every key verify may meet. Never in a repr (a log line, a traceback).
    keys: dict[str, bytes] = field(repr=False)
    #: Id of the key that signs new entries and checkpoints.
    current: str
    #: Where the keys were read from, for messages ("PORTAL_AUDIT_KEYS" or a file path).
    source: str

    def mac(self, key_id: str, message: bytes) -> str | None:
        """HMAC-SHA256 of ``message`` under the key ``key_id``; None when the keyring lacks it."""
        key = self.keys.get(key_id)
        return None if key is None else hmac.new(key, message, hashlib.sha256).hexdigest()


def _parse(text: str) -> list[str]:
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [key for line in lines for key in _SEPARATORS.split(line) if key]


def development_key_file(config) -> Path:
    return Path(config["DATA_DIR"]) / "secrets" / "audit.keys"


def append_key(path: Path, key: str) -> None:
    """Add ``key`` as the current key of the file (created 0600, its directory 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{key}\n".encode())
    finally:
        os.close(fd)


def key_file(config) -> Path | None:
    """The file the keys are read from (and a new key is appended to); None when from AUDIT_KEYS."""
    if config.get("AUDIT_KEYS"):
        return None
    if config.get("AUDIT_KEY_FILE"):
        return Path(config["AUDIT_KEY_FILE"])
    return development_key_file(config) if allows_development_shortcuts(config) else None


def load(config) -> Keyring:
    """The keyring the config names; raises AuditKeyMissing with what to set when there is none."""
    listed = str(config.get("AUDIT_KEYS") or "")  # str(): from_prefixed_env turns digits into an int
    if listed and config.get("AUDIT_KEY_FILE"):
        raise AuditKeyMissing("PORTAL_AUDIT_KEYS and PORTAL_AUDIT_KEY_FILE are both set: keep one, "
                              "so that nobody wonders which keys the chain is written with.")
    path = key_file(config)
    if listed:
        keys, source = _parse(listed), "PORTAL_AUDIT_KEYS"
    elif path is None:
        raise AuditKeyMissing(
            f"No audit key: set PORTAL_AUDIT_KEY_FILE (a file with one key a line, readable by the portal "
            f"only) or PORTAL_AUDIT_KEYS; `flask audit new-key` makes one. Refusing to start with "
            f"PORTAL_ENV={config.get('ENV')}: the audit chain would be a plain hash anyone who can write "
            "the database can recompute (docs/audit.md).")
    else:
        if not path.is_file() and path == development_key_file(config):
            append_key(path, new_key())  # development and tests only: key_file() says so
        if not path.is_file():
            raise AuditKeyMissing(f"PORTAL_AUDIT_KEY_FILE={path}: no such file (docs/audit.md).")
        keys, source = _parse(path.read_text()), str(path)
    if not keys:
        raise AuditKeyMissing(f"{source}: no audit key in it (docs/audit.md).")
    ring: dict[str, bytes] = {}
    for text in keys:
        if len(text) < MIN_KEY_LENGTH:
            raise AuditKeyMissing(f"{source}: an audit key is shorter than {MIN_KEY_LENGTH} characters; "
                                  "`flask audit new-key` makes one.")
        key = text.encode()
        if ring.setdefault(key_id(key), key) != key:
            raise AuditKeyMissing(f"{source}: two audit keys share the id {key_id(key)}; make a new one.")
    return Keyring(keys=ring, current=key_id(keys[-1].encode()), source=source)
