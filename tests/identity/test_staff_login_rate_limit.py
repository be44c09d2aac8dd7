"""One address cannot try passwords on every staff account: the login steps are rate-limited per
client address, whatever the account, in the portal's database (the default store, shared by
every worker), in Redis (when configured) and in memory (only when asked for)."""

from __future__ import annotations

import uuid

import pytest
import redis
from sqlalchemy import select

from portal.extensions import db
from portal.rate_limits import DATABASE_STORAGE_URI, RateLimitCounter
from tests.identity.staff_builders import STAFF_PASSWORD, form_token

REDIS = "redis://127.0.0.1:6379/0"
STORES = {"database": DATABASE_STORAGE_URI, "redis": REDIS, "memory": "memory://"}


@pytest.fixture(params=list(STORES))
def limited(request, make_app, app):
    # After `app`: the limiter counts in the store of the last app built (one per process in service).
    prefix = f"test-{uuid.uuid4().hex}"
    # Keys of our own in the shared Redis: another run at the same time counts apart.
    limited_app = make_app(STAFF_LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=STORES[request.param],
                           RATELIMIT_STORAGE_OPTIONS={"key_prefix": prefix})
    limited_app.store = request.param
    limited_app.redis_prefix = prefix if request.param == "redis" else None
    with limited_app.app_context():
        yield limited_app
    if limited_app.redis_prefix:
        store = redis.Redis.from_url(REDIS)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


def attempt(client, username: str, password: str):
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf_token": form_token(client, "/staff/login")})


def test_after_the_limit_even_the_right_password_waits(limited, make_staff):
    staff = make_staff(units=["phuong-cau-giay"])
    client = limited.test_client()
    for n in range(3):
        assert attempt(client, f"clerk-guess-{n}", "Wrong-password-123").status_code == 200

    refused = attempt(client, staff.username, STAFF_PASSWORD)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    page = refused.get_data(as_text=True)
    assert "Quá nhiều lần thử" in page  # Vietnamese by default
    if limited.redis_prefix:  # counted where every worker sees it
        assert any(redis.Redis.from_url(REDIS).scan_iter(f"{limited.redis_prefix}*"))
    if limited.store == "database":
        keys = db.session.scalars(select(RateLimitCounter.key))
        assert any("STAFF_LOGIN_RATE_LIMIT" in key for key in keys)
    # Reading the form is not an attempt, and another address is not affected.
    assert client.get("/staff/login").status_code == 200
    other = limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    response = attempt(other, staff.username, STAFF_PASSWORD)
    assert response.status_code == 302 and response.location.endswith("/staff/login/otp")
