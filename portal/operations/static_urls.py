"""Versioned static URLs: ``url_for('static', filename=f)`` gives ``/static/f?v=<content hash>``.

A changed file gets a new URL, so the proxy in front may let browsers keep a versioned file for a
year without asking again (deploy/nginx/portal-locations.conf: ``immutable`` when ``v`` is there,
an hour without it). The query leaves file names and templates as they are, and Flask's own static
route ignores it. Each file is hashed once per change: one ``stat`` a URL tells whether it changed
(an edit in development shows at the next page, no restart).
"""

from __future__ import annotations

import hashlib
import os
import threading
from stat import S_ISREG

from flask import Flask
from werkzeug.security import safe_join

#: Hex digits of the sha256 kept in the URL: 48 bits, no collision between two versions of a file.
VERSION_LENGTH = 12

_versions: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def file_version(folder: str, filename: str) -> str | None:
    """The version of a static file (the start of its sha256), None when there is no such file."""
    path = safe_join(folder, filename)
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return None
    if stat is None or not S_ISREG(stat.st_mode):
        return None
    known = _versions.get(path)
    if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    with open(path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()[:VERSION_LENGTH]
    with _lock:
        _versions[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def init_app(app: Flask) -> None:
    """Add ``v`` to every URL of the static endpoint that names an existing file."""

    @app.url_defaults
    def _add_version(endpoint: str, values: dict) -> None:
        if endpoint != "static" or "v" in values or not app.static_folder:
            return
        version = file_version(app.static_folder, str(values.get("filename", "")))
        if version:
            values["v"] = version
