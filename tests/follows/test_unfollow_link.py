"""The unfollow link of every mail: no login, GET only asks, POST stops (also as RFC 8058's
one-click POST), and it stops only the follow it was signed for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from portal.follows import links, services
from portal.follows import tasks as follow_tasks
from portal.follows.models import Follow
from portal.identity.models import Citizen
from tests.conftest import csrf_token
from tests.follows.conftest import BASE, CITIZEN_ID, ENDS


@pytest.fixture
def followed(own_record, db_session):
    """followed(email) → a follow of a new personal result of the citizen."""

    def build(email: str = "lan@example.vn") -> Follow:
        record = own_record(CITIZEN_ID, access="personal", valid_to=ENDS, doc_type_name="Giấy phép lái xe")
        citizen = db_session.scalar(select(Citizen).where(Citizen.subject_id == record.subject_id))
        if citizen is None:
            citizen = Citizen(issuer="https://sso.example.vn", sub="lan", subject=record.subject, loa=2)
            db_session.add(citizen)
        follow = services.follow(db_session, citizen, record.source_id, email)
        db_session.commit()
        return follow

    return build


def mailed_link(smtp_server, set_today) -> str:
    """The unfollow link of the reminder the daily job mails (its path on this server)."""
    set_today(ENDS - timedelta(days=7))
    follow_tasks.send_follow_notices.call_local()
    [message] = smtp_server.messages
    return message["List-Unsubscribe"].strip("<>").removeprefix(BASE)


def count(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Follow))


def test_the_mails_link_asks_then_stops_without_login(client, followed, smtp_server, set_today, db_session):
    followed()
    link = mailed_link(smtp_server, set_today)
    page = client.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "lan@example.vn" in text and "Giấy phép lái xe" in text
    assert '<meta name="robots" content="noindex">' in text
    assert count(db_session) == 1  # a GET (a mail scanner opening links) changes nothing
    token = csrf_token(client, link)
    stopped = client.post(link, data={"csrf_token": token})
    assert stopped.status_code == 200 and count(db_session) == 0
    # The same link again: already stopped, said plainly, nothing else happens.
    again = client.get(link)
    assert again.status_code == 200 and count(db_session) == 0


def test_one_click_unsubscribe_from_the_mail_client(client, followed, smtp_server, set_today, db_session):
    followed()
    link = mailed_link(smtp_server, set_today)
    # RFC 8058: the client posts this body to the List-Unsubscribe address, with no cookie or token.
    answer = client.post(link, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and count(db_session) == 0


def test_a_tampered_link_stops_nothing(client, followed, app, db_session):
    mine, other = followed("lan@example.vn"), followed("lan2@example.vn")
    token = links.unfollow_token(mine.id, mine.link_nonce, app.config)
    forged_id = token.replace(token[2], "A" if token[2] != "A" else "B", 1)
    # Signed with another key, or for another purpose, or the other follow's id with this nonce.
    wrong_key = URLSafeSerializer("not the portal's key", salt=links.SALT).dumps([other.id, other.link_nonce])
    wrong_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="copy-download").dumps(
        [other.id, other.link_nonce])
    swapped = links.unfollow_token(other.id, mine.link_nonce, app.config)
    for bad in (forged_id, wrong_key, wrong_salt, "x" * 300, "not-a-token"):
        assert client.get(f"/follows/unfollow/{bad}").status_code == 404, bad
        assert client.post(f"/follows/unfollow/{bad}").status_code == 404, bad
    client.post(f"/follows/unfollow/{swapped}")
    assert count(db_session) == 2


def test_an_old_link_never_stops_a_newer_follow_that_got_the_same_id(client, followed, app, db_session):
    first = followed()
    old_link = f"/follows/unfollow/{links.unfollow_token(first.id, first.link_nonce, app.config)}"
    first_id = first.id
    db_session.delete(first)
    db_session.commit()
    newer = followed("lan@example.vn")
    newer.id  # noqa: B018  (loaded before the request)
    client.post(old_link)
    assert count(db_session) == 1
    if newer.id == first_id:  # SQLite hands out the freed id again; PostgreSQL never does
        assert db_session.get(Follow, first_id) is not None
