"""Addresses a follow's mails carry: the signed unfollow link and the renewal procedure's page on
the national procedure catalogue. Knows no request: mails are rendered by the worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from portal.mail import public_base_url
from portal.procedures.models import Procedure
from portal.security import secret_keys

#: A token signed for anything else (a copy's download link) never unfollows.
SALT = "follow-unfollow"


def _serializer(config: Mapping[str, Any]) -> URLSafeSerializer:
    return URLSafeSerializer(secret_keys(config), salt=SALT)


def unfollow_token(follow_id: int, nonce: str, config: Mapping[str, Any]) -> str:
    """No expiry: an old reminder's link must still stop the reminders."""
    return _serializer(config).dumps([follow_id, nonce])


def read_unfollow_token(token: str, config: Mapping[str, Any]) -> tuple[int, str] | None:
    """(follow id, nonce) of a genuine token, else None."""
    try:
        value = _serializer(config).loads(token)
    except BadSignature:
        return None
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int)
            or not isinstance(value[1], str)):
        return None
    return value[0], value[1]


def unfollow_url(follow_id: int, nonce: str, config: Mapping[str, Any]) -> str:
    return f"{public_base_url(config)}/follows/unfollow/{unfollow_token(follow_id, nonce, config)}"


def catalogue_url(procedure: Procedure | None, config: Mapping[str, Any]) -> str:
    """The procedure's page on the national catalogue, or "" (not catalogued, or no address set)."""
    pattern = config.get("FOLLOW_CATALOGUE_URL") or ""
    if procedure is None or not procedure.catalogued or "{code}" not in pattern:
        return ""
    return pattern.replace("{code}", procedure.code)
