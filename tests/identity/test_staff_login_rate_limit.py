"""One address cannot try passwords on every staff account: the login steps are rate-limited per
client address, whatever the account, in memory and in Redis (the production store)."""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.identity.staff_builders import STAFF_PASSWORD, form_token

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def limited(request, make_app, app):
    # After `app`: the limiter counts in the store of the last app built (one per process in service).
    prefix = f"test-{uuid.uuid4().hex}"
    # Keys of our own in the shared Redis: another run at the same time counts apart.
    limited_app = make_app(STAFF_LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_OPTIONS={"key_prefix": prefix},
                           RATELIMIT_STORAGE_URI="memory://" if request.param == "memory" else REDIS)
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
    # Reading the form is not an attempt, and another address is not affected.
    assert client.get("/staff/login").status_code == 200
    other = limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    response = attempt(other, staff.username, STAFF_PASSWORD)
    assert response.status_code == 302 and response.location.endswith("/staff/login/otp")
