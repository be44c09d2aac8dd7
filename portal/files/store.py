"""Content-addressed file store: ``<root>/ab/cd/<sha256>``, each content stored once.

Writes go to a temporary file in the target directory, are fsynced, then renamed into place
with ``os.replace``: a crash leaves either the whole file or nothing under its final name,
never a truncated file that a later run would take as already stored.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BLOCK = 1024 * 1024


class HashMismatch(ValueError):
    """The bytes written do not hash to the sha256 the caller announced."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class FileStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def from_config(cls, config) -> FileStore:
        return cls(config["FILES_ROOT"])

    def path_for(self, sha256: str) -> Path:
        """Where the content with this hash lives (whether or not it is stored yet)."""
        # Checked because the hash becomes a path: anything but 64 hex digits could escape the root.
        if not _SHA256.match(sha256):
            raise ValueError(f"not a lowercase sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open stored content for reading. Raises FileNotFoundError when it is not stored."""
        return open(self.path_for(sha256), "rb")

    def put_file(self, source: Path, sha256: str) -> Path:
        """Store a copy of ``source`` under its hash unless already stored. Raises HashMismatch."""
        target = self.path_for(sha256)
        if target.is_file():
            return target
        with open(source, "rb") as handle:
            return self._write(handle, sha256, target)

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha256)
        if not target.is_file():
            self._write(io.BytesIO(data), sha256, target)
        return sha256

    def _write(self, handle: BinaryIO, sha256: str, target: Path) -> Path:
        digest = hashlib.sha256()
        with replaced_atomically(target) as out:
            while block := handle.read(_BLOCK):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
            # Hashed while copying: the file in the batch may change between check and copy.
            if digest.hexdigest() != sha256:
                raise HashMismatch(f"content hashes to {digest.hexdigest()}, expected {sha256}")
            os.fchmod(out.fileno(), 0o644)
        _fsync_dir(target.parent)
        return target


@contextmanager
def replaced_atomically(target: Path, *, suffix: str = "") -> Iterator[BinaryIO]:
    """A temporary file beside ``target`` to write into, renamed onto ``target`` when the block
    ends without an error, removed when it raises: a reader sees the whole file or none of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(temp_name, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
