"""The production layout, for real: Debian's nginx with deploy/nginx/portal.conf and its snippets in
front of the portal under gunicorn (gunicorn.conf.py, PORTAL_PROXY_FIX_HOPS=1), on loopback.

The site file is the one shipped, with only its ports, paths and name replaced (each replacement
must find what it replaces: a changed layout fails here instead of testing something else); TLS
with a certificate made here. nginx runs in the foreground, unprivileged (as nobody when the suite
runs as root); scripts/run-tests.sh installs it when missing, like Chromium.

Requests come from 127.0.0.2 and 127.0.0.3 as well as 127.0.0.1 (the whole 127/8 is loopback):
what the app takes for the client's address must be the one nginx saw.

nginx changes nothing with the database: the suite's PostgreSQL run skips this module.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from portal import ROOT
from portal.config import Config
from portal.security import HEADERS
from tests.mail_fixtures import tls_certificate
from tests.search.test_worker import _stop

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
    reason="nginx in front of the app runs once, in the SQLite run: the database changes nothing here")

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy" / "nginx"
NAME = "localhost"  # the name of tls_certificate's certificate
#: The app's largest body (client_max_body_size must be the same).
LIMIT = Config.MAX_CONTENT_LENGTH
STATIC_FILE = "css/portal.css"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _replace(text: str, old: str, new: str, count: int) -> str:
    """Replace ``old`` exactly ``count`` times: the site file must still look as this test expects."""
    found = len(re.findall(old, text, flags=re.M))
    assert found == count, f"deploy/nginx/portal.conf: expected {count} of {old!r}, found {found}"
    return re.sub(old, new, text, flags=re.M)


def site_for_test(*, http_port: int, https_port: int, app_port: int, cert: Path, key: Path,
                  logs: Path) -> str:
    """deploy/nginx/portal.conf on loopback ports, with this test's certificate, logs and checkout."""
    text = (DEPLOY / "portal.conf").read_text()
    text = _replace(text, r"^\s*listen \[::\]:\d+.*\n", "", 3)  # loopback may have no IPv6
    text = _replace(text, r"listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    text = _replace(text, r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", 2)
    text = _replace(text, r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{app_port};", 1)
    text = _replace(text, r"/etc/letsencrypt/live/ketqua\.example\.org/fullchain\.pem", str(cert), 1)
    text = _replace(text, r"/etc/letsencrypt/live/ketqua\.example\.org/privkey\.pem", str(key), 1)
    text = _replace(text, r"server_name ketqua\.example\.org;", f"server_name {NAME};", 2)
    text = _replace(text, r"include /etc/nginx/snippets/", f"include {DEPLOY}/", 2)
    text = _replace(text, r"/var/log/nginx/", f"{logs}/", 2)
    return _replace(text, r"root /opt/portal/app;", f"root {ROOT};", 1)


def main_config(work: Path, site: str) -> str:
    """A main nginx.conf like Debian's (mime types, gzip on at the http level), in ``work``."""
    temp = "\n".join(f"    {kind}_temp_path {work}/{kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    gzip on;
{temp}
    access_log {work}/access.log;
{site}
}}
"""


def _wait_for(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited ({process.returncode}): {log.read_text(errors='replace')[-3000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} did not start in {timeout} s: {log.read_text(errors='replace')[-3000:]}")


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    finally:
        connection.close()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 under NAME (SNI, Host, certificate check), from a chosen source address."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Site:
    """The running pair: nginx (HTTP and HTTPS ports) in front of gunicorn."""

    def __init__(self, work: Path, http_port: int, https_port: int, cert: Path, app_log: Path) -> None:
        self.work, self.http_port, self.https_port, self.app_log = work, http_port, https_port, app_log
        self.tls = ssl.create_default_context(cafile=str(cert))

    def call(self, method: str, path: str, *, source: str = "127.0.0.2", headers: dict | None = None,
             body: bytes | None = None, sni: str = NAME) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = _Connection(sni, self.https_port, context=self.tls, timeout=30,
                                 source_address=(source, 0))
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.msg, response.read()
        finally:
            connection.close()

    def seen(self, **kwargs) -> dict:
        status, _, body = self.call("GET", "/_test/seen", **kwargs)
        assert status == 200, body[:500]
        return json.loads(body)


@pytest.fixture(scope="module")
def site(database):
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is needed (scripts/run-tests.sh installs it as root): sudo apt-get install nginx")
    work = Path(tempfile.mkdtemp(prefix="portal-nginx-"))
    os.chmod(work, 0o755)
    data = work / "data"
    http_port, https_port, app_port = _free_port(), _free_port(), _free_port()
    cert, key = tls_certificate(work)
    site_conf = site_for_test(http_port=http_port, https_port=https_port, app_port=app_port,
                              cert=cert, key=key, logs=work)
    (work / "nginx.conf").write_text(main_config(work, site_conf))

    env = {key_: value for key_, value in os.environ.items() if not key_.startswith("PORTAL_")}
    env.update({
        "PORTAL_ENV": "production",
        "PORTAL_SECRET_KEY": "nginx-test-" + "7" * 40,
        "PORTAL_AUDIT_KEYS": os.environ["PORTAL_AUDIT_KEYS"],
        "PORTAL_DATA_DIR": str(data),
        "PORTAL_DATABASE_URL": database(),
        "PORTAL_PROXY_FIX_HOPS": "1",
        "PORTAL_BIND": f"127.0.0.1:{app_port}",
        "PORTAL_WORKERS": "1",
        "PORTAL_MAIL_SUPPRESS": "1",
        "PORTAL_PUBLIC_PAGE_SERVER_CACHE": "false",
        "PORTAL_API_ANONYMOUS_RATE_LIMIT": "3 per minute",
    })
    app_log = work / "gunicorn.log"
    with open(app_log, "wb") as out:
        gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "tests.operations.nginx_app:app"],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    # Unprivileged: as nobody when the suite runs as root (then the files it reads are nobody's).
    drop = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
    if drop:
        for path in [work, *work.iterdir()]:
            os.chown(path, 65534, 65534)
    command = [NGINX, "-p", f"{work}/", "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")]
    nginx = None
    try:
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, **drop)
        assert check.returncode == 0, f"nginx -t refused the configuration:\n{check.stderr}\n{site_conf}"
        nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **drop)
        _wait_for(lambda: _healthy(app_port), "gunicorn", gunicorn, app_log)
        _wait_for(lambda: socket.create_connection(("127.0.0.1", https_port), 1).close() or True,
                  "nginx", nginx, work / "error.log")
        yield Site(work, http_port, https_port, cert, app_log)
    finally:
        if nginx is not None:
            _stop(nginx)
        _stop(gunicorn)
        shutil.rmtree(work, ignore_errors=True)


def test_limits_and_timeouts_are_the_apps():
    """client_max_body_size is MAX_CONTENT_LENGTH; nginx waits for an answer as long as gunicorn
    lets a request run (its timeout, gunicorn's default unless gunicorn.conf.py sets one)."""
    from gunicorn.config import Timeout

    locations = (DEPLOY / "portal-locations.conf").read_text()
    size = re.search(r"^client_max_body_size (\d+)m;", locations, re.M)
    assert size and int(size.group(1)) * 1024 * 1024 == LIMIT
    # Read, not run: the config file has side effects (the metrics folder, the environment).
    set_there = re.search(r"^timeout = (?:int\(os\.environ\.get\(\"\w+\", \"(\d+)\"\)\)|(\d+))$",
                          (ROOT / "gunicorn.conf.py").read_text(), re.M)
    assert set_there or not re.search(r"^timeout\b", (ROOT / "gunicorn.conf.py").read_text(), re.M)
    timeout = int(next(group for group in set_there.groups() if group)) if set_there else Timeout.default
    assert re.search(rf"^proxy_read_timeout {timeout}s;", locations, re.M)


def test_static_files_come_from_nginx_versioned_long_cached_and_gzipped(site):
    status, headers, page = site.call("GET", "/")
    assert status == 200
    version = re.search(rf'href="/static/{STATIC_FILE}\?v=([0-9a-f]+)"', page.decode()).group(1)
    content = (ROOT / "static" / STATIC_FILE).read_bytes()
    assert version == hashlib.sha256(content).hexdigest()[:len(version)]

    status, headers, body = site.call("GET", f"/static/{STATIC_FILE}?v={version}",
                                      headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == content
    assert headers["Content-Type"].startswith("text/css")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Request-ID" not in headers  # nginx answered from disk: the app never saw it

    # An address without the version (hand-typed, old bookmark) is kept an hour only.
    status, headers, body = site.call("GET", f"/static/{STATIC_FILE}")
    assert (status, headers["Cache-Control"], body) == (200, "public, max-age=3600", content)
    assert "Content-Encoding" not in headers  # not asked for
    status, headers, _ = site.call("GET", "/static/../portal/config.py")
    assert status in (400, 404)


def test_pages_keep_the_apps_headers_once_and_stay_uncompressed(site):
    status, headers, body = site.call("GET", "/", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for name, value in HEADERS.items():
        assert headers.get_all(name) == [value], name
    assert len(headers.get_all("Content-Security-Policy")) == 1
    assert len(headers.get_all("X-Request-ID")) == 1
    assert headers["Server"] == "nginx"  # no version, and not gunicorn's
    # BREACH: a page holding a CSRF token next to echoed text is never compressed.
    assert "Content-Encoding" not in headers and b"<html" in body

    status, headers, body = site.call("GET", "/api/v1/units?per_page=50", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"  # the API's JSON is
    assert json.loads(gzip.decompress(body))["items"]


def test_the_app_sees_the_client_nginx_saw(site):
    assert site.seen(source="127.0.0.2")["remote_addr"] == "127.0.0.2"
    # A client's own X-Forwarded-For is not believed: nginx sends the address it saw.
    seen = site.seen(source="127.0.0.3", headers={"X-Forwarded-For": "203.0.113.9"})
    assert (seen["remote_addr"], seen["scheme"], seen["host"]) == ("127.0.0.3", "https", NAME)

    # And what counts per client does count per client: three anonymous API calls a minute each.
    units = "/api/v1/units?per_page=1"
    assert [site.call("GET", units, source="127.0.0.4")[0] for _ in range(3)] == [200, 200, 200]
    status, headers, _ = site.call("GET", units, source="127.0.0.4",
                                   headers={"X-Forwarded-For": "198.51.100.1"})
    assert status == 429 and headers["Retry-After"]
    assert site.call("GET", units, source="127.0.0.5")[0] == 200


def test_the_request_id_is_nginxs_and_in_both_logs(site):
    status, headers, _ = site.call("GET", "/healthz", headers={"X-Request-ID": "client-chosen-id-1234"})
    request_id = headers["X-Request-ID"]
    assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id
    assert site.seen()["request_id"] != request_id  # each request its own
    nginx_log = (site.work / "portal.access.log").read_text()
    assert re.search(rf'"GET /healthz HTTP/1.1" 200 .* {request_id}$', nginx_log, re.M)
    deadline = time.monotonic() + 5
    while request_id not in site.app_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert re.search(rf'"GET /healthz HTTP/1.0" 200 .* {request_id}$', site.app_log.read_text(), re.M)


def test_an_upload_at_the_limit_reaches_the_app_and_one_over_is_refused_by_nginx(site):
    status, _, body = site.call("POST", "/_test/seen", body=b"x" * LIMIT,
                                headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and json.loads(body)["body_bytes"] == LIMIT

    # One byte more: refused on the headers, before a byte of the body is sent or the app asked.
    connection = _Connection(NAME, site.https_port, context=site.tls, timeout=30,
                             source_address=("127.0.0.2", 0))
    try:
        connection.putrequest("POST", "/_test/seen")
        connection.putheader("Content-Length", str(LIMIT + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert "X-Request-ID" not in response.msg and b"nginx" in response.read()
    finally:
        connection.close()


def test_metrics_only_from_this_machine(site):
    for path in ("/metrics", "/metrics?name[]=x", "/%6Detrics", "//metrics", "/metrics/"):
        status, headers, _ = site.call("GET", path, source="127.0.0.2")
        assert status == 403 and "X-Request-ID" not in headers, path
    status, headers, _ = site.call("GET", "/metrics", source="127.0.0.1")
    assert status != 403 and "X-Request-ID" in headers  # passed on to the app


def test_plain_http_redirects_to_https_and_other_names_get_no_tls(site):
    connection = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=10)
    try:
        connection.request("GET", "/search?q=giay+phep", headers={"Host": "evil.example"})
        response = connection.getresponse()
        assert response.status == 301
        assert response.headers["Location"] == f"https://{NAME}/search?q=giay+phep"
    finally:
        connection.close()
    # Any other name (or none, as for an IP address) is refused at the handshake, whatever the
    # client thinks of certificates.
    trusting = ssl.create_default_context()
    trusting.check_hostname, trusting.verify_mode = False, ssl.CERT_NONE
    for name in ("other.example", None):
        with socket.create_connection(("127.0.0.1", site.https_port), 10) as sock:
            with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME|unrecognized name"):
                trusting.wrap_socket(sock, server_hostname=name)
