"""Security headers, exact values: a loosened header is a change someone must mean."""

import re


def test_security_headers_on_every_page(client):
    response = client.get("/healthz")
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    csp = headers["Content-Security-Policy"]
    assert re.fullmatch(
        r"default-src 'self'; script-src 'self' 'nonce-[A-Za-z0-9_-]{22}'; style-src 'self'; "
        r"img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        r"frame-ancestors 'none'",
        csp,
    )


def test_each_response_gets_a_fresh_nonce(client):
    first = client.get("/healthz").headers["Content-Security-Policy"]
    second = client.get("/healthz").headers["Content-Security-Policy"]
    assert first != second


def test_unknown_page_is_a_friendly_404_not_a_traceback(client):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
