"""Citizens' and businesses' login through the national SSO: OpenID Connect, authlib's Flask client.

authlib sends `state`, `nonce` and a PKCE S256 challenge, and on the way back checks the state,
exchanges the code and verifies the id_token (signature against the provider's JWKS, iss, aud,
exp, iat, nonce) with joserfc. What the portal adds: the RFC 9207 `iss` check, userinfo bound to
the id_token's `sub`, reading the national-SSO claims through the OIDC_CLAIMS mapping, and one
exception, `LoginRefused`, for every way a login can fail.

The personal id travels only in the claims and ends on the `Subject`; `Identity` keeps it out of
its repr so that a log line never carries it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request
from joserfc.errors import JoseError

from portal.identity import dev_idp
from portal.identity.models import SubjectKind

#: Name of the client in authlib's registry (also the prefix of its state keys in the session).
CLIENT_NAME = "sso"
ID_NUMBER = re.compile(r"\d{12}")
#: Enterprise code: 10 digits, a branch adds -NNN.
ORG_CODE = re.compile(r"\d{10}(-\d{3})?")
#: Seconds for each call to the provider (discovery, token, JWKS, userinfo).
TIMEOUT = 10


class LoginRefused(Exception):
    """A login that does not go through. ``reason`` picks the page shown; never personal data."""

    def __init__(self, reason: str, status: int = 401, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Identity:
    """Who the provider says logged in, in the portal's terms."""

    issuer: str
    sub: str
    account_type: SubjectKind
    name: str
    loa: int
    id_number: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    org_code: str | None = field(default=None, repr=False)
    org_name: str = ""


@dataclass(frozen=True)
class LoginResult:
    identity: Identity
    #: The raw id_token, for id_token_hint at logout; None when it carries the personal id
    #: (the hint goes in a URL, and a personal id never does).
    id_token_hint: str | None


def init_app(app: Flask) -> None:
    # One registry per app: authlib caches clients and provider metadata on it, and tests build
    # several apps with different providers in one process.
    app.extensions["portal.oidc"] = {"oauth": OAuth(app), "client": None}


def _settings() -> tuple[str, str, str]:
    config = current_app.config
    issuer, client_id, secret = config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"]
    if config["DEV_IDP"]:
        issuer = issuer or dev_idp.issuer()
        if not client_id:
            client_id, secret = dev_idp.CLIENT_ID, dev_idp.client_secret(current_app)
    return issuer.rstrip("/"), client_id, secret


def get_client():
    """The app's OpenID client, built on first use. Raises LoginRefused when none is configured."""
    state = current_app.extensions["portal.oidc"]
    if state["client"] is None:
        issuer, client_id, secret = _settings()
        if not issuer or not client_id:
            raise LoginRefused("unavailable", 503, "OIDC_ISSUER / OIDC_CLIENT_ID not configured")
        scopes = current_app.config["OIDC_SCOPES"].split()
        if "openid" not in scopes:  # without it there is no id_token, hence no nonce check
            scopes.insert(0, "openid")
        state["client"] = state["oauth"].register(
            CLIENT_NAME, overwrite=True, client_id=client_id, client_secret=secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": " ".join(scopes), "code_challenge_method": "S256",
                           "default_timeout": TIMEOUT},
        )
    return state["client"]


def _metadata(client) -> dict[str, Any]:
    try:
        return client.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise LoginRefused("unavailable", 503, f"discovery: {type(error).__name__}") from error


def authorize_redirect(redirect_uri: str):
    """The redirect to the provider's authorization endpoint (state, nonce, PKCE kept in the session)."""
    client = get_client()
    _metadata(client)
    return client.authorize_redirect(redirect_uri)


def complete_login() -> LoginResult:
    """Finish the login on the callback request. Raises LoginRefused."""
    client = get_client()
    metadata = _metadata(client)
    # RFC 9207: an answer naming another issuer is a mix-up attack, whatever else it carries; and a
    # provider that says it names itself must do so (an answer without `iss` may come from another).
    returned_iss = request.args.get("iss")
    if returned_iss is None and metadata.get("authorization_response_iss_parameter_supported"):
        raise LoginRefused("token", 401, "authorization response without iss")
    if returned_iss is not None and returned_iss != metadata.get("issuer"):
        raise LoginRefused("token", 401, "authorization response from another issuer")
    if "error" in request.args:
        raise LoginRefused("denied", 401, request.args.get("error", "")[:60])
    try:
        token = client.authorize_access_token()
        if not token.get("userinfo"):
            raise LoginRefused("token", 401, "no id_token in the token response")
        claims = dict(token["userinfo"])
        if metadata.get("userinfo_endpoint"):
            extra = dict(client.userinfo())
            # OIDC Core 5.3.2: userinfo about someone else must not be mixed in.
            if extra.get("sub") != claims.get("sub"):
                raise LoginRefused("token", 401, "userinfo sub differs from the id_token's")
            claims = {**extra, **claims}
    except MismatchingStateError as error:
        raise LoginRefused("state", 400, "state unknown or already used") from error
    except OAuthError as error:
        raise LoginRefused("provider", 401, str(error.error or "")[:60]) from error
    except JoseError as error:
        raise LoginRefused("token", 401, f"id_token: {type(error).__name__}") from error
    except (requests.RequestException, ValueError) as error:
        raise LoginRefused("unavailable", 503, type(error).__name__) from error
    identity = identity_from_claims(claims, metadata.get("issuer") or _settings()[0], current_app.config)
    id_claim = current_app.config["OIDC_CLAIMS"]["id_number"]
    hint = None if id_claim in token["userinfo"] else token.get("id_token")
    return LoginResult(identity=identity, id_token_hint=hint)


def identity_from_claims(claims: dict[str, Any], issuer: str, config) -> Identity:
    """Read the national-SSO claims through OIDC_CLAIMS. Raises LoginRefused("claims") if one is missing."""
    names = config["OIDC_CLAIMS"]

    def claim(name: str) -> str:
        value = claims.get(names[name])
        return "" if value is None else str(value).strip()

    sub = claim("sub")
    if not sub:
        raise LoginRefused("claims", 401, "sub")
    raw_type = claim("account_type")
    kind = config["OIDC_ACCOUNT_TYPES"].get(raw_type, raw_type) if raw_type else SubjectKind.INDIVIDUAL
    if kind not in set(SubjectKind):
        raise LoginRefused("claims", 401, "account_type")
    kind = SubjectKind(kind)
    name = claim("name")[:200]
    loa = parse_loa(claims.get(names["loa"]))
    if kind == SubjectKind.ORGANIZATION:
        org_code = claim("org_code")
        if not ORG_CODE.fullmatch(org_code):
            raise LoginRefused("claims", 401, "org_code")
        return Identity(issuer=issuer, sub=sub, account_type=kind, name=name, loa=loa, org_code=org_code,
                        org_name=claim("org_name")[:200] or org_code)
    id_number = claim("id_number")
    if not ID_NUMBER.fullmatch(id_number):
        raise LoginRefused("claims", 401, "id_number")
    return Identity(issuer=issuer, sub=sub, account_type=kind, name=name, loa=loa, id_number=id_number,
                    birth_date=parse_birth_date(claim("birth_date")))


def parse_loa(value: Any) -> int:
    """2 from 2, "2" or "urn:…:loa:2"; 0 when the provider sent nothing usable."""
    match = re.search(r"(\d+)$", str(value if value is not None else ""))
    return int(match.group(1)) if match else 0


def parse_birth_date(value: str) -> date | None:
    """YYYYMMDD as the national SSO sends it (also YYYY-MM-DD); None when absent or malformed."""
    for pattern in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def logout_url(id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout at the provider, or None when it offers none (or cannot be reached)."""
    try:
        client = get_client()
        metadata = client.load_server_metadata()
    except (LoginRefused, requests.RequestException, ValueError):
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    extra = {} if id_token_hint else {"client_id": client.client_id}
    return client.create_logout_url(post_logout_redirect_uri=post_logout_redirect_uri,
                                    id_token_hint=id_token_hint, **extra)["url"]
