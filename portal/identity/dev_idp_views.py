"""Development OpenID provider under /dev-idp: log in as one of the demo people or businesses.

Off unless DEV_IDP; identity.init_app refuses it when ENV is production. To the portal's login
code it is an ordinary provider reached over HTTP (discovery, JWKS, authorization code with PKCE,
token endpoint with client authentication, userinfo, end_session): the same authlib client and
the same checks as with the national SSO, nothing short-circuited. The token and userinfo calls
come back into the same server, which therefore has to serve requests concurrently
(gunicorn.conf.py runs threads).

Keys and the client secret live under DATA_DIR/dev-idp, generated on first use, so every worker
and every restart signs with the same key. Codes are signed, expire after a minute and are
accepted once (a marker file per code, shared by the workers). The people offered are the demo
subjects that own results (portal/demo loads them); their personal ids never enter a URL: the
chooser posts the subject's row id, and personal claims travel only in the userinfo answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import func, select

from portal.extensions import csrf, db
from portal.identity.models import Subject, SubjectKind
from portal.records.models import Access, Record

bp = Blueprint("dev_idp", __name__, url_prefix="/dev-idp")

CLIENT_ID = "portal-dev"
#: Seconds a code may wait before the token exchange; id and access tokens live ten minutes.
CODE_TTL = 60
TOKEN_TTL = 600
#: The national SSO's account-type values (config OIDC_ACCOUNT_TYPES maps them back).
ACCOUNT_TYPE_VALUES = {SubjectKind.INDIVIDUAL: "1", SubjectKind.ORGANIZATION: "2"}
#: How many people and businesses the chooser offers.
CHOICES = 8


def init_app(app: Flask) -> None:
    app.extensions["portal.dev_idp"] = {"issuer": None}
    app.register_blueprint(bp)
    # Called by the portal's server side (client authentication or a bearer token), not by a form.
    csrf.exempt(token)
    csrf.exempt(userinfo)


# --- keys, secret, issuer ------------------------------------------------------------------------

def _store(app: Flask) -> Path:
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
    text = _once(_store(app) / "signing-key.json", lambda: json.dumps(RSAKey.generate_key(
        2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True).as_dict(private=True)))
    return RSAKey.import_key(json.loads(text))


def client_secret(app: Flask) -> str:
    return _once(_store(app) / "client-secret", lambda: secrets.token_urlsafe(32))


def issuer() -> str:
    """OIDC_ISSUER when set, else this server's own /dev-idp as the first request reached it."""
    state = current_app.extensions["portal.dev_idp"]
    if state["issuer"] is None:
        state["issuer"] = (current_app.config["OIDC_ISSUER"] or f"{request.url_root.rstrip('/')}/dev-idp")
    return state["issuer"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _redirect_uri_allowed(uri: str) -> bool:
    # The registered redirect URI: the portal's own callback, on the issuer's origin.
    return uri == f"{_origin(issuer())}/auth/callback"


def _sign(claims: dict) -> str:
    key = signing_key(current_app)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _verify(token_text: str, **expected) -> dict:
    """Claims of a token this provider signed. Raises JoseError (bad signature, expired, wrong claim)."""
    token_obj = jwt.decode(token_text, signing_key(current_app), algorithms=["RS256"])
    options = {name: {"essential": True, "value": value} for name, value in expected.items()}
    registry = JWTClaimsRegistry(exp={"essential": True}, **options)
    registry.validate(token_obj.claims)
    return token_obj.claims


# --- the demo people -------------------------------------------------------------------------------

def demo_people(session) -> list[tuple[Subject, int]]:
    """(subject, number of results) for individuals with personal results and for organizations."""
    count = func.count(Record.id)
    people = []
    for kind, where in ((SubjectKind.INDIVIDUAL, Record.access == Access.PERSONAL),
                        (SubjectKind.ORGANIZATION, True)):
        people += session.execute(
            select(Subject, count).join(Record, Record.subject_id == Subject.id)
            .where(Subject.kind == kind.value, where).group_by(Subject.id)
            .order_by(count.desc(), Subject.id).limit(CHOICES)).all()
    return people


def masked(id_number: str) -> str:
    return f"{id_number[:3]}{'•' * max(0, len(id_number) - 5)}{id_number[-2:]}"


# --- endpoints --------------------------------------------------------------------------------------

@bp.get("/.well-known/openid-configuration")
def discovery():
    base = issuer()
    return jsonify({
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks",
        "end_session_endpoint": f"{base}/end-session",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile"],
        "claims_supported": ["sub", "acr", "auth_time", *current_app.config["OIDC_CLAIMS"].values()],
        "acr_values_supported": ["1", "2"],
        "authorization_response_iss_parameter_supported": True,
    })


@bp.get("/jwks")
def jwks():
    return jsonify(KeySet([signing_key(current_app)]).as_dict(private=False))


AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
                    "code_challenge", "code_challenge_method")


def _authorize_params(source) -> dict[str, str]:
    """The request's parameters. Aborts 400 (a page, never a redirect) unless client and URI are ours."""
    params = {name: source.get(name, "") for name in AUTHORIZE_PARAMS}
    if params["client_id"] != CLIENT_ID or not _redirect_uri_allowed(params["redirect_uri"]):
        abort(400)
    return params


def _back(params: dict[str, str], **answer: str):
    answer = {**answer, "state": params["state"], "iss": issuer()}
    return redirect(f"{params['redirect_uri']}?{urlencode(answer)}")


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    source = request.form if request.method == "POST" else request.args
    params = _authorize_params(source)
    if params["response_type"] != "code" or "openid" not in params["scope"].split():
        return _back(params, error="unsupported_response_type")
    if params["code_challenge_method"] != "S256" or len(params["code_challenge"]) < 43:
        return _back(params, error="invalid_request", error_description="PKCE S256 required")
    if request.method == "GET":
        return render_template("dev_idp/authorize.html", params=params, people=demo_people(db.session),
                               masked=masked)
    if request.form.get("action") == "cancel":
        return _back(params, error="access_denied")
    subject = db.session.get(Subject, request.form.get("subject", type=int) or 0)
    if subject is None:
        abort(400)
    loa = 1 if request.form.get("loa") == "1" else 2
    code = _sign({"typ": "code", "jti": secrets.token_urlsafe(16), "exp": int(time.time()) + CODE_TTL,
                  "cid": CLIENT_ID, "ru": params["redirect_uri"], "cc": params["code_challenge"],
                  "nonce": params["nonce"], "subject": subject.id, "loa": loa, "at": int(time.time())})
    return _back(params, code=code)


def _token_error(error: str, status: int = 400):
    response = jsonify({"error": error})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _client_authenticated() -> bool:
    auth = request.authorization
    client_id, secret = (auth.username, auth.password) if auth else (request.form.get("client_id"),
                                                                      request.form.get("client_secret"))
    return client_id == CLIENT_ID and hmac.compare_digest(str(secret or ""), client_secret(current_app))


def _spend(jti: str) -> bool:
    """True the first time a code is presented, by any worker."""
    used = _store(current_app) / "used-codes"
    used.mkdir(exist_ok=True)
    try:
        (used / hashlib.sha256(jti.encode()).hexdigest()).open("x").close()
    except FileExistsError:
        return False
    return True


def _sub(subject: Subject) -> str:
    return f"dev-{subject.kind}-{subject.id}"


@bp.post("/token")
def token():
    if not _client_authenticated():
        return _token_error("invalid_client", 401)
    if request.form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type")
    try:
        code = _verify(request.form.get("code", ""), typ="code", cid=CLIENT_ID,
                       ru=request.form.get("redirect_uri", ""))
    except (JoseError, ValueError):
        return _token_error("invalid_grant")
    verifier = request.form.get("code_verifier", "")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(challenge, code["cc"]) or not _spend(code["jti"]):
        return _token_error("invalid_grant")
    subject = db.session.get(Subject, code["subject"])
    if subject is None:
        return _token_error("invalid_grant")
    now = int(time.time())
    # The id_token names nobody: it is sent back as id_token_hint in a logout URL.
    id_token = _sign({"iss": issuer(), "sub": _sub(subject), "aud": CLIENT_ID, "iat": now,
                      "exp": now + TOKEN_TTL, "auth_time": code["at"], "nonce": code["nonce"],
                      "acr": str(code["loa"])})
    access_token = _sign({"typ": "access", "iss": issuer(), "sub": _sub(subject),
                          "aud": f"{issuer()}/userinfo", "iat": now, "exp": now + TOKEN_TTL,
                          "subject": subject.id})
    response = jsonify({"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_TTL,
                        "id_token": id_token, "scope": "openid profile"})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    auth = request.headers.get("Authorization", "")
    try:
        claims = _verify(auth.removeprefix("Bearer ").strip(), typ="access", aud=f"{issuer()}/userinfo")
    except (JoseError, ValueError):
        return _token_error("invalid_token", 401)
    subject = db.session.get(Subject, claims["subject"])
    if subject is None:
        return _token_error("invalid_token", 401)
    names = current_app.config["OIDC_CLAIMS"]
    kind = SubjectKind(subject.kind)
    info = {"sub": _sub(subject), names["account_type"]: ACCOUNT_TYPE_VALUES[kind]}
    if kind == SubjectKind.ORGANIZATION:
        info |= {names["org_code"]: subject.id_number, names["org_name"]: subject.name,
                 names["name"]: "Người đại diện (thử nghiệm)"}
    else:
        info |= {names["id_number"]: subject.id_number, names["name"]: subject.name}
        if subject.birth_date:
            info[names["birth_date"]] = subject.birth_date.strftime("%Y%m%d")
    response = jsonify(info)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/end-session")
def end_session():
    """Nothing to end here (every login picks someone again); checks the hint, goes back to the portal."""
    hint = request.args.get("id_token_hint")
    if hint:
        try:
            jwt.decode(hint, signing_key(current_app), algorithms=["RS256"])
        except (JoseError, ValueError):
            abort(400)
    elif request.args.get("client_id") != CLIENT_ID:
        abort(400)
    target = request.args.get("post_logout_redirect_uri", "")
    if not target or _origin(target) != _origin(issuer()):
        return render_template("dev_idp/logged_out.html")
    state = request.args.get("state")
    return redirect(f"{target}?{urlencode({'state': state})}" if state else target)
