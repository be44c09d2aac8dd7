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
import secrets
import time
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.extensions import csrf, db
from portal.identity import dev_idp
from portal.identity.models import Subject, SubjectKind
from portal.records import services as records

bp = Blueprint("dev_idp", __name__, url_prefix="/dev-idp")

#: How many people and businesses the chooser offers.
CHOICES = 8


def init_app(app: Flask) -> None:
    app.extensions["portal.dev_idp"] = {"issuer": None}
    app.register_blueprint(bp)
    # Called by the portal's server side (client authentication or a bearer token), not by a form.
    csrf.exempt(token)
    csrf.exempt(userinfo)


# --- requests -------------------------------------------------------------------------------------

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _redirect_uri_allowed(uri: str) -> bool:
    # The registered redirect URI: the portal's own callback, on the issuer's origin.
    return uri == f"{_origin(dev_idp.issuer())}/auth/callback"


# --- the demo people -------------------------------------------------------------------------------

def masked(id_number: str) -> str:
    return f"{id_number[:3]}{'•' * max(0, len(id_number) - 5)}{id_number[-2:]}"


# --- endpoints --------------------------------------------------------------------------------------

@bp.get("/.well-known/openid-configuration")
def discovery():
    base = dev_idp.issuer()
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
    return jsonify(KeySet([dev_idp.signing_key(current_app)]).as_dict(private=False))


AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
                    "code_challenge", "code_challenge_method")


def _authorize_params(source) -> dict[str, str]:
    """The request's parameters. Aborts 400 (a page, never a redirect) unless client and URI are ours."""
    params = {name: source.get(name, "") for name in AUTHORIZE_PARAMS}
    if params["client_id"] != dev_idp.CLIENT_ID or not _redirect_uri_allowed(params["redirect_uri"]):
        abort(400)
    return params


def _back(params: dict[str, str], **answer: str):
    answer = {**answer, "state": params["state"], "iss": dev_idp.issuer()}
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
        people = records.list_result_holders(db.session, CHOICES)
        return render_template("dev_idp/authorize.html", params=params, people=people, masked=masked)
    if request.form.get("action") == "cancel":
        return _back(params, error="access_denied")
    subject = db.session.get(Subject, request.form.get("subject", type=int) or 0)
    if subject is None:
        abort(400)
    loa = 1 if request.form.get("loa") == "1" else 2
    now = int(time.time())
    code = dev_idp.sign({"typ": "code", "jti": secrets.token_urlsafe(16), "exp": now + dev_idp.CODE_TTL,
                         "cid": dev_idp.CLIENT_ID, "ru": params["redirect_uri"],
                         "cc": params["code_challenge"], "nonce": params["nonce"], "subject": subject.id,
                         "loa": loa, "at": now})
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
    return client_id == dev_idp.CLIENT_ID and hmac.compare_digest(str(secret or ""),
                                                                  dev_idp.client_secret(current_app))


def _spend(jti: str) -> bool:
    """True the first time a code is presented, by any worker."""
    used = dev_idp.store(current_app) / "used-codes"
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
        code = dev_idp.verify(request.form.get("code", ""), typ="code", cid=dev_idp.CLIENT_ID,
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
    id_token = dev_idp.sign({"iss": dev_idp.issuer(), "sub": _sub(subject), "aud": dev_idp.CLIENT_ID,
                             "iat": now, "exp": now + dev_idp.TOKEN_TTL, "auth_time": code["at"],
                             "nonce": code["nonce"], "acr": str(code["loa"])})
    access_token = dev_idp.sign({"typ": "access", "iss": dev_idp.issuer(), "sub": _sub(subject),
                                 "aud": f"{dev_idp.issuer()}/userinfo", "iat": now,
                                 "exp": now + dev_idp.TOKEN_TTL, "subject": subject.id})
    response = jsonify({"access_token": access_token, "token_type": "Bearer", "expires_in": dev_idp.TOKEN_TTL,
                        "id_token": id_token, "scope": "openid profile"})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    auth = request.headers.get("Authorization", "")
    try:
        claims = dev_idp.verify(auth.removeprefix("Bearer ").strip(), typ="access",
                                aud=f"{dev_idp.issuer()}/userinfo")
    except (JoseError, ValueError):
        return _token_error("invalid_token", 401)
    subject = db.session.get(Subject, claims["subject"])
    if subject is None:
        return _token_error("invalid_token", 401)
    names = current_app.config["OIDC_CLAIMS"]
    kind = SubjectKind(subject.kind)
    info = {"sub": _sub(subject), names["account_type"]: dev_idp.ACCOUNT_TYPE_VALUES[kind]}
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
            jwt.decode(hint, dev_idp.signing_key(current_app), algorithms=["RS256"])
        except (JoseError, ValueError):
            abort(400)
    elif request.args.get("client_id") != dev_idp.CLIENT_ID:
        abort(400)
    target = request.args.get("post_logout_redirect_uri", "")
    if not target or _origin(target) != _origin(dev_idp.issuer()):
        return render_template("dev_idp/logged_out.html")
    state = request.args.get("state")
    return redirect(f"{target}?{urlencode({'state': state})}" if state else target)
