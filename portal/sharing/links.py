"""Addresses of a share link: the page itself, and the short-lived tickets its scans are fetched with.

A one-time link is spent by the opening of its page; the page's scanned pages are separate
requests that follow it. Each scan address carries a ticket signed at that opening (valid
SCAN_TICKET_SECONDS, for that link only), so the recipient's browser gets the scans of the page it was
shown and nobody gets them from the token alone afterwards. Revoking still stops the scans at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.mail import public_base_url
from portal.security import secret_keys

SALT = "share-scan-ticket"
#: How long after an opening its page's scans can be fetched.
SCAN_TICKET_SECONDS = 30 * 60


def _serializer(config: Mapping[str, Any]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(config), salt=SALT)


def scan_ticket(link_id: int, config: Mapping[str, Any]) -> str:
    return _serializer(config).dumps(link_id)


def ticket_is_for(ticket: str, link_id: int, config: Mapping[str, Any]) -> bool:
    if not ticket or len(ticket) > 200:
        return False
    try:
        return _serializer(config).loads(ticket, max_age=SCAN_TICKET_SECONDS) == link_id
    except BadSignature:  # SignatureExpired is one
        return False


def share_url(token: str, config: Mapping[str, Any]) -> str:
    """The link the holder gives the recipient."""
    return f"{public_base_url(config)}/s/{token}"
