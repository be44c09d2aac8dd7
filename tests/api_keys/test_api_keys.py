"""API keys of organizations (issue 15, item 3): shown once and stored hashed, scoped, counted per
Hanoi day against a quota shared by every worker, rotated and revoked by admins (audited); without a
key, public endpoints stay open at a per-address rate. The decorator is tried on a test-only
blueprint, as the /api/v1 views will use it."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from flask import Blueprint, g
from sqlalchemy import select

from portal import ROOT, clock
from portal.api_keys import service
from portal.api_keys.access import api_access
from portal.api_keys.models import ApiKey, ApiKeyUsage
from portal.audit import AuditEntry
from portal.extensions import db
from tests.identity.staff_builders import form_token

probe = Blueprint("api_probe", __name__)


@probe.get("/api/v1/probe/public")
@api_access()
def public():
    return {"organization": g.api_key.organization if g.api_key else None}


@probe.get("/api/v1/probe/batch")
@api_access("status:batch")
def batch():
    return {"organization": g.api_key.organization}


#: The second process: another app on the same database, like a second gunicorn worker.
SECOND_WORKER = """
import json, sys
from portal import create_app
from tests.api_keys.test_api_keys import probe, call_public
app = create_app(json.loads(sys.argv[1]))
app.register_blueprint(probe)
with app.app_context():
    print(json.dumps(call_public(app.test_client(), int(sys.argv[2]))))
"""


def call_public(client, count: int) -> list[int]:
    return [client.get("/api/v1/probe/public").status_code for _ in range(count)]


@pytest.fixture
def api_app(make_app):
    def build(**config):
        app = make_app(**config)
        app.register_blueprint(probe)
        return app

    return build


@pytest.fixture
def app(api_app):
    app = api_app()
    with app.app_context():
        yield app


def issue(scopes=("status:batch",), quota=100) -> service.Issued:
    issued = service.issue(db.session, "cli", organization="Ngân hàng Thử nghiệm", scopes=list(scopes),
                           daily_quota=quota)
    db.session.commit()
    return issued


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_the_cli_prints_the_key_once_and_only_its_hash_is_stored(app):
    result = app.test_cli_runner().invoke(args=["api-keys", "issue", "--org", "Văn phòng công chứng số 1",
                                                "--scopes", "search,status:batch", "--quota", "500"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"^(hnp_\S+)$", result.output, re.M).group(1)
    key = db.session.scalars(select(ApiKey)).one()
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(f"hnp_{key.prefix}_") and len(secret) > 40
    stored = [str(getattr(key, column.key)) for column in ApiKey.__table__.columns]
    assert not any(secret.split("_", 2)[2] in value for value in stored)
    assert (key.organization, key.scopes, key.daily_quota) == ("Văn phòng công chứng số 1",
                                                               ["search", "status:batch"], 500)
    assert app.test_client().get("/api/v1/probe/batch", headers=bearer(secret)).status_code == 200
    assert app.test_cli_runner().invoke(args=["api-keys", "issue", "--org", "X", "--scopes", "admin",
                                              "--quota", "5"]).exit_code != 0


def test_bearer_and_x_api_key_both_authenticate_and_carry_the_quota_headers(app, client):
    issued = issue(quota=100)
    for headers in (bearer(issued.secret), {"X-API-Key": issued.secret}):
        response = client.get("/api/v1/probe/batch", headers=headers)
        assert response.status_code == 200
        assert response.json == {"organization": "Ngân hàng Thử nghiệm"}
        assert response.headers["RateLimit-Limit"] == "100"
    assert response.headers["RateLimit-Remaining"] == "98"
    assert 0 < int(response.headers["RateLimit-Reset"]) <= 86400


@pytest.mark.parametrize("presented", ["", "hnp_", "hnp_abcdefgh_wrong", "Basic abc", "hnp_{prefix}_tampered"])
def test_an_unknown_or_malformed_key_is_refused_with_401(app, client, presented):
    issued = issue()
    value = presented.format(prefix=issued.key.prefix)
    response = client.get("/api/v1/probe/public", headers={"X-API-Key": value})
    assert response.status_code == 401
    assert response.json["status"] == 401 and "WWW-Authenticate" in response.headers
    assert response.mimetype == "application/problem+json" and response.json["messages"]["vi"]


def test_revoked_and_rotated_keys_stop_working_at_once(app, client):
    revoked, rotated = issue(), issue()
    service.revoke(db.session, "cli", revoked.key)
    new = service.rotate(db.session, "cli", rotated.key)
    db.session.commit()
    assert client.get("/api/v1/probe/batch", headers=bearer(revoked.secret)).status_code == 401
    assert client.get("/api/v1/probe/public", headers=bearer(rotated.secret)).status_code == 401
    response = client.get("/api/v1/probe/batch", headers=bearer(new.secret))
    assert response.status_code == 200
    assert (new.key.rotated_from_id, new.key.scopes, new.key.daily_quota) == (rotated.key.id, ["status:batch"], 100)


def test_a_key_without_the_scope_gets_403_and_no_key_gets_401_where_a_scope_is_needed(app, client):
    search_only = issue(scopes=["search"])
    response = client.get("/api/v1/probe/batch", headers=bearer(search_only.secret))
    assert response.status_code == 403 and "status:batch" in response.json["messages"]["en"]
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/probe/batch").status_code == 401
    assert client.get("/api/v1/probe/public", headers=bearer(search_only.secret)).json \
        == {"organization": "Ngân hàng Thử nghiệm"}


def test_over_the_daily_quota_429_until_hanoi_midnight_then_a_new_day(app, client, monkeypatch):
    moment = datetime(2026, 12, 5, 23, 0, 0, tzinfo=clock.HANOI)  # 16:00 UTC: still the 5th in Hanoi
    monkeypatch.setattr(clock, "now", lambda: moment)
    issued = issue(quota=3)
    answers = [client.get("/api/v1/probe/batch", headers=bearer(issued.secret)) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json["status"] == 429 and refused.mimetype == "application/problem+json"
    assert refused.headers["Retry-After"] == "3600" == refused.headers["RateLimit-Reset"]
    assert (refused.headers["RateLimit-Limit"], refused.headers["RateLimit-Remaining"]) == ("3", "0")
    assert answers[1].headers["RateLimit-Remaining"] == "1"

    moment += timedelta(hours=1, seconds=1)  # 00:00:01 on the 6th in Hanoi (17:00 UTC on the 5th)
    response = client.get("/api/v1/probe/batch", headers=bearer(issued.secret))
    assert response.status_code == 200 and response.headers["RateLimit-Remaining"] == "2"
    days = db.session.execute(select(ApiKeyUsage.day, ApiKeyUsage.count).order_by(ApiKeyUsage.day)).all()
    assert [(d.isoformat(), n) for d, n in days] == [("2026-12-05", 4), ("2026-12-06", 1)]

    # The owner sees the same counts with the key (this call is one more request of the 6th).
    usage = client.get("/api/v1/keys/me/usage", headers=bearer(issued.secret)).json
    assert usage["usage"] == [{"day": "2026-12-06", "requests": 2}, {"day": "2026-12-05", "requests": 4}]
    anonymous = client.get("/api/v1/keys/me/usage")
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    assert anonymous.json["messages"]["en"] == "An API key is required."


def test_anonymous_limit_is_shared_by_two_processes_and_has_ratelimit_headers(api_app, tmp_path):
    config = {"API_ANONYMOUS_RATE_LIMIT": "5 per hour"}
    app = api_app(**config)
    with app.app_context():
        client = app.test_client()
        first = client.get("/api/v1/probe/public")
        assert first.status_code == 200 and first.json == {"organization": None}
        assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("5", "4")
        assert call_public(client, 2) == [200, 200]

        second = {"TESTING": True, "HUEY_IMMEDIATE": True, "SERVER_NAME": None, **config,
                  "DATABASE_URL": app.config["DATABASE_URL"], "DATA_DIR": str(tmp_path / "second")}
        run = subprocess.run([sys.executable, "-c", SECOND_WORKER, json.dumps(second), "3"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        assert json.loads(run.stdout.strip().splitlines()[-1]) == [200, 200, 429]

        refused = client.get("/api/v1/probe/public")
        assert refused.status_code == 429 and refused.json["status"] == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert refused.headers["RateLimit-Remaining"] == "0"
        # A key is not held to the anonymous limit of its address.
        issued = issue(scopes=[])
        assert client.get("/api/v1/probe/public", headers=bearer(issued.secret)).status_code == 200


def _admin_client(app, make_staff, login_staff, role="admin"):
    client = app.test_client()
    login_staff(client, make_staff(role=role, **({} if role == "admin" else {"units": ["phuong-cau-giay"]})))
    return client


def test_admin_issues_rotates_and_revokes_on_the_pages_and_each_step_is_audited(app, make_staff, login_staff):
    client = _admin_client(app, make_staff, login_staff)
    assert client.get("/staff/api-keys/new").status_code == 200
    response = client.post("/staff/api-keys/new", data={
        "organization": "Ngân hàng Hà Nội", "contact_email": "api@bank.example.vn", "scopes": ["status:batch"],
        "daily_quota": "50", "csrf_token": form_token(client, "/staff/api-keys/new")})
    assert response.status_code == 201
    secret = re.search(r'value="(hnp_[^"]+)"', response.text).group(1)
    key = db.session.scalars(select(ApiKey)).one()
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    page = f"/staff/api-keys/{key.id}"
    assert client.get(page).status_code == 200 and secret not in client.get(page).text  # shown once
    assert "Ngân hàng Hà Nội" in client.get("/staff/api-keys").text

    assert app.test_client().get("/api/v1/probe/batch", headers=bearer(secret)).status_code == 200
    usage_row = re.search(r"<th scope=\"row\">(\d{4}-\d\d-\d\d)</th><td>1</td>", client.get(page).text)
    assert usage_row and usage_row.group(1) == clock.today().isoformat()

    assert client.post(f"{page}/rotate", data={}).status_code == 400  # no CSRF token: nothing done
    response = client.post(f"{page}/rotate", data={"csrf_token": form_token(client, page)})
    new_secret = re.search(r'value="(hnp_[^"]+)"', response.text).group(1)
    assert app.test_client().get("/api/v1/probe/batch", headers=bearer(secret)).status_code == 401
    new_key = service.authenticate(db.session, new_secret)
    new_page = f"/staff/api-keys/{new_key.id}"
    client.post(f"{new_page}/revoke", data={"csrf_token": form_token(client, new_page)})
    assert app.test_client().get("/api/v1/probe/batch", headers=bearer(new_secret)).status_code == 401

    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("api_key.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["api_key.issued", "api_key.rotated", "api_key.revoked"]


@pytest.mark.parametrize("role", ["clerk", "supervisor", "operator"])
def test_api_key_pages_refuse_staff_who_are_not_admins(app, make_staff, login_staff, role):
    issued = issue()
    client = _admin_client(app, make_staff, login_staff, role=role)
    assert client.get("/staff/").status_code == 200
    for method, path in [("GET", "/staff/api-keys"), ("GET", "/staff/api-keys/new"),
                         ("GET", f"/staff/api-keys/{issued.key.id}"),
                         ("POST", f"/staff/api-keys/{issued.key.id}/revoke")]:
        data = {"csrf_token": form_token(client, "/staff/")} if method == "POST" else None
        assert client.open(path, method=method, data=data).status_code == 403, path
    assert db.session.get(ApiKey, issued.key.id).revoked_at is None
