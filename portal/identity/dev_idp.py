"""The development OpenID provider's keys, client secret and issuer (its pages: dev_idp_views.py).

Keys and the client secret live under DATA_DIR/dev-idp, generated on first use, so every worker
and every restart signs with the same key. The portal's login code (oidc.py) reads the issuer and
client credentials from here when DEV_IDP is on and no real provider is configured.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from flask import Flask, current_app, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry

from portal.identity.models import SubjectKind

CLIENT_ID = "portal-dev"
#: Seconds a code may wait before the token exchange; id and access tokens live ten minutes.
CODE_TTL = 60
TOKEN_TTL = 600
#: The national SSO's account-type values (config OIDC_ACCOUNT_TYPES maps them back).
ACCOUNT_TYPE_VALUES = {SubjectKind.INDIVIDUAL: "1", SubjectKind.ORGANIZATION: "2"}
def store(app: Flask) -> Path:
    path = Path(app.config["DATA_DIR"]) / "dev-idp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _once(path: Path, make) -> str:
    """The file's text, written by whichever worker comes first (the others read that one)."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_text(make())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic, and fails if another worker got there first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text()


def signing_key(app: Flask) -> RSAKey:
    text = _once(store(app) / "signing-key.json", lambda: json.dumps(RSAKey.generate_key(
        2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True).as_dict(private=True)))
    return RSAKey.import_key(json.loads(text))


def client_secret(app: Flask) -> str:
    return _once(store(app) / "client-secret", lambda: secrets.token_urlsafe(32))


def issuer() -> str:
    """OIDC_ISSUER when set, else this server's own /dev-idp as the first request reached it."""
    state = current_app.extensions["portal.dev_idp"]
    if state["issuer"] is None:
        state["issuer"] = (current_app.config["OIDC_ISSUER"] or f"{request.url_root.rstrip('/')}/dev-idp")
    return state["issuer"]


def sign(claims: dict) -> str:
    key = signing_key(current_app)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def verify(token_text: str, **expected) -> dict:
    """Claims of a token this provider signed. Raises JoseError (bad signature, expired, wrong claim)."""
    token_obj = jwt.decode(token_text, signing_key(current_app), algorithms=["RS256"])
    options = {name: {"essential": True, "value": value} for name, value in expected.items()}
    registry = JWTClaimsRegistry(exp={"essential": True}, **options)
    registry.validate(token_obj.claims)
    return token_obj.claims


