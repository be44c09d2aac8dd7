"""A real OpenID provider for tests, and logging citizens in through it.

`oidc_provider` (session): panva oidc-provider run by node (tests/identity/oidc_provider), with the
national-SSO-shaped accounts of accounts.json. `sso` (per test): points the test app at it and
returns a driver whose `login()` walks the real redirect chain: the Flask test client toward the
portal, an HTTP client (the "browser" at the provider) toward the provider. `login_citizen(client,
account)` logs an account in and checks it worked.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
ACCOUNTS = json.loads((PROVIDER_DIR / "accounts.json").read_text())
#: Where the test client's app lives (Flask's test client answers for "localhost").
PORTAL = "http://localhost"
REDIRECT_URI = f"{PORTAL}/auth/callback"
POST_LOGOUT_URI = f"{PORTAL}/logged-out"


def ensure_node_modules() -> None:
    """npm ci when node_modules is missing or older than the lock file (scripts/run-tests.sh does it too)."""
    lock = PROVIDER_DIR / "package-lock.json"
    stamp = PROVIDER_DIR / "node_modules" / ".portal-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if shutil.which("npm") is None:
        pytest.exit("node and npm are needed for the OpenID provider of the tests", returncode=3)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True,
                   stdout=subprocess.DEVNULL)
    stamp.write_text(digest)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    log: Path
    accounts: dict = field(default_factory=lambda: ACCOUNTS)

    def discovery(self) -> dict:
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).json()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    ensure_node_modules()
    port = _free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    provider = OidcProvider(issuer=f"http://127.0.0.1:{port}", client_id="hanoi-portal",
                            client_secret=secrets.token_urlsafe(24), log=log)
    env = {**os.environ, "PORT": str(port), "CLIENT_ID": provider.client_id,
           "CLIENT_SECRET": provider.client_secret, "REDIRECT_URIS": REDIRECT_URI,
           "POST_LOGOUT_REDIRECT_URIS": POST_LOGOUT_URI}
    with log.open("w") as out:
        process = subprocess.Popen(["node", "server.mjs"], cwd=PROVIDER_DIR, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the OpenID provider did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _with_params(url: str, **params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


class SsoDriver:
    """One person's browser: the Flask test client on the portal's side, `http` on the provider's."""

    def __init__(self, provider: OidcProvider):
        self.provider = provider
        self.http = requests.Session()
        #: Every URL of every login's redirect chain, to check what never appears in one.
        self.visited: list[str] = []

    def to_callback(self, authorization_url: str, account: str | None = "citizen", *,
                    tamper: str | None = None, deny: bool = False) -> str:
        """Follow the provider's redirects from ``authorization_url`` to the portal's callback URL,
        logging ``account`` in at the interaction step (None: expect an existing provider session)."""
        url = authorization_url
        for _ in range(12):
            self.visited.append(url)
            if url.startswith(PORTAL + "/"):
                return url
            if urlsplit(url).path.startswith("/interaction/"):
                if account is None:
                    raise AssertionError("the provider asked for a login")
                url = _with_params(url, account=account, tamper=tamper, deny="1" if deny else None)
            response = self.http.get(url, allow_redirects=False, timeout=10)
            assert response.status_code == 303, (url, response.status_code, response.text[:500])
            url = urljoin(url, response.headers["Location"])
        raise AssertionError(f"no way back to the portal from {authorization_url}")

    def login(self, client, account: str | None = "citizen", *, next: str | None = None,
              tamper: str | None = None, deny: bool = False):
        """The whole flow; returns the portal's answer to the callback."""
        start = client.get("/login" + (f"?{urlencode({'next': next})}" if next else ""))
        assert start.status_code == 302, start.get_data(as_text=True)[:500]
        callback = self.to_callback(start.location, account, tamper=tamper, deny=deny)
        parts = urlsplit(callback)
        return client.get(f"{parts.path}?{parts.query}")


@pytest.fixture
def sso(app, oidc_provider) -> SsoDriver:
    """The test app logs citizens in through the test OpenID provider."""
    app.config.update(OIDC_ISSUER=oidc_provider.issuer, OIDC_CLIENT_ID=oidc_provider.client_id,
                      OIDC_CLIENT_SECRET=oidc_provider.client_secret)
    app.extensions["portal.oidc"]["client"] = None  # built again from this config on first use
    return SsoDriver(oidc_provider)


@pytest.fixture
def login_citizen(sso):
    """login_citizen(client, account="citizen") → the callback's redirect, after checking the login worked.

    Accounts are the keys of tests/identity/oidc_provider/accounts.json: "citizen" (level 2),
    "citizen-level-1", "business" (enterprise 0101234567), "no-personal-id".
    """

    def login(client, account: str = "citizen", next: str | None = None):
        response = sso.login(client, account, next=next)
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        return response

    return login
