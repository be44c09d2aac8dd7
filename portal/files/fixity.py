"""Fixity: does the file stored under a sha256 still hash to it?

The store names each file by the sha256 of its bytes, so the name is the recorded hash and a check
needs nothing but the store: read the file again, hash it, compare. Reading is streamed
(`hashlib.file_digest`, a fixed buffer), so a file of any size costs the same memory. Which files
to check, and what to do about a bad one, is the business of the caller (portal/fixity/), which
knows the tables that record hashes; this module knows only the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from portal.files.store import FileStore


class Outcome(StrEnum):
    OK = "ok"
    #: No file under the hash's path (deleted, or never written).
    MISSING = "missing"
    #: The bytes hash to something else: changed on disk (bit rot, an edit, a truncation).
    ALTERED = "altered"
    #: There, but could not be read (permissions, an I/O error): not known to be good.
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Finding:
    sha256: str
    path: Path
    outcome: Outcome
    #: What was found instead: the hash of the bytes (altered) or the error (unreadable).
    found: str = ""
    #: Bytes read (for the speed figure).
    size: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def check_file(store: FileStore, sha256: str) -> Finding:
    """Hash the stored file of ``sha256`` again. Raises ValueError for a malformed hash."""
    path = store.path_for(sha256)
    try:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
            size = handle.tell()
    except (FileNotFoundError, NotADirectoryError):
        return Finding(sha256, path, Outcome.MISSING)
    except OSError as error:  # a directory in its place, no permission, a failing disk
        reason = f"{type(error).__name__}: {error.strerror or error}"
        return Finding(sha256, path, Outcome.UNREADABLE, found=reason)
    found = digest.hexdigest()
    if found != sha256:
        return Finding(sha256, path, Outcome.ALTERED, found=found, size=size)
    return Finding(sha256, path, Outcome.OK, size=size)


def check(store: FileStore, sha256s: Iterable[str]) -> Iterator[Finding]:
    """A finding per hash, in order, one file read at a time."""
    for sha256 in sha256s:
        yield check_file(store, sha256)
