"""Static URLs carry their file's content hash (portal/operations/static_urls.py): what lets nginx
send them with a year's `immutable` cache (tests/operations/test_nginx.py checks that side)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from flask import url_for

from portal.operations.static_urls import file_version

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_pages_link_static_files_by_content_hash(client):
    html = client.get("/").get_data(as_text=True)
    digest = hashlib.sha256((STATIC / "css/portal.css").read_bytes()).hexdigest()[:12]
    assert f'href="/static/css/portal.css?v={digest}"' in html
    linked = re.findall(r'(?:href|src)="/static/([^"?]+)(\?v=[0-9a-f]{12})?"', html)
    assert linked and all(version for _, version in linked), linked
    with client.get(f"/static/css/portal.css?v={digest}") as css:  # Flask's own route ignores v
        assert css.status_code == 200


def test_a_changed_file_gets_a_new_version_at_once(tmp_path):
    (tmp_path / "a.css").write_text("a{}")
    first = file_version(str(tmp_path), "a.css")
    assert first == hashlib.sha256(b"a{}").hexdigest()[:12]
    (tmp_path / "a.css").write_text("b{color:red}")
    os.utime(tmp_path / "a.css", ns=(1, 1))  # a new mtime whatever the clock's resolution
    assert file_version(str(tmp_path), "a.css") == hashlib.sha256(b"b{color:red}").hexdigest()[:12]


def test_no_version_for_what_is_not_a_static_file(app, tmp_path):
    assert file_version(str(tmp_path), "missing.css") is None
    assert file_version(str(tmp_path), "../etc/passwd") is None
    (tmp_path / "dir").mkdir()
    assert file_version(str(tmp_path), "dir") is None
    with app.test_request_context():
        assert url_for("static", filename="missing.css") == "/static/missing.css"
        assert url_for("static", filename="css/portal.css", v="x") == "/static/css/portal.css?v=x"
