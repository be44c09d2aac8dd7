"""Rotating PORTAL_SECRET_KEY (docs/operations.md, "Rotating keys and secrets"): with the old key in
PORTAL_SECRET_KEY_FALLBACKS, download links mailed before the rotation and session cookies set before
it keep working until they expire; without it, both stop at once (what a leaked key calls for)."""

from __future__ import annotations

from portal.copy_requests import processing, signing
from portal.extensions import db

OLD, NEW = "old-secret-" + "a" * 40, "new-secret-" + "b" * 40


def test_a_link_signed_before_the_rotation_works_with_the_old_key_as_fallback_only(
        make_app, dev_ca, make_request, make_staff):
    before = make_app(SECRET_KEY=OLD)
    with before.app_context():
        request, _code = make_request()
        clerk = make_staff(role="clerk", units=[request.unit])
        processing.assign(db.session, clerk, request)
        copy = processing.issue(db.session, clerk, request)
        db.session.commit()
        with before.test_request_context():
            path = signing.download_url(copy).replace("http://localhost", "")

    rotated = make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=f"{OLD}")
    answer = rotated.test_client().get(path)
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    with rotated.test_request_context():  # what is signed now is signed with the new key
        assert signing.check_download_token(path.split("token=")[1], copy.code, rotated.config)
        fresh = signing.download_token(copy, rotated.config)
    assert not signing.check_download_token(fresh, copy.code, {**before.config, "SECRET_KEY_FALLBACKS": []})

    leaked = make_app(SECRET_KEY=NEW)  # the old key dropped: its links stop at once
    assert leaked.test_client().get(path).status_code in (403, 404)


def test_a_session_cookie_set_before_the_rotation_is_still_read(make_app):
    before, rotated = make_app(SECRET_KEY=OLD), make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])
    cookie = before.session_interface.get_signing_serializer(before).dumps({"lang": "en"})
    assert rotated.session_interface.get_signing_serializer(rotated).loads(cookie) == {"lang": "en"}
    assert rotated.config["SECRET_KEY_FALLBACKS"] == [OLD]
