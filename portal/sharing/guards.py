"""What every answer about a share link carries, and the limit on guessing tokens (the page, its scans
and the API share both)."""

from __future__ import annotations

from flask import current_app

from portal.rate_limits import limiter

#: Never kept, never indexed, and the token never leaves in a Referer header.
LINK_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
                "Referrer-Policy": "no-referrer"}


def unknown_token_limit():
    """SHARE_UNKNOWN_RATE_LIMIT per address, counted only when the token is unknown (a 404): guessing
    tokens costs time; using a real link (even an expired one) does not. One bucket for the page, its
    scans and the API."""
    return limiter.shared_limit(lambda: current_app.config["SHARE_UNKNOWN_RATE_LIMIT"], scope="share-unknown",
                                deduct_when=lambda response: response.status_code == 404)
