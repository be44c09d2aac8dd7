"""What a counter session reaches, and nothing more: not another person's results, not results of
units the clerk does not serve, not after 30 minutes, not from another clerk's login, not after the
clerk ends it, not without one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal import clock
from portal.counter import tasks
from portal.counter.models import CounterSession
from tests.counter.conftest import post

SUMMARY = "What the one-stop desk did for you"


def summaries(smtp_server) -> list:
    return [m for m in smtp_server.messages if SUMMARY in m["Subject"]]


def refused_to_start(response) -> None:
    assert response.status_code == 303 and response.location.endswith("/staff/counter"), response.location


def test_another_persons_result_is_not_found(client, world, open_counter):
    open_counter(client)
    assert client.get(f"/staff/counter/results/{world.other.source_id}").status_code == 404
    assert client.get(f"/staff/counter/results/{world.other.source_id}/copy-request").status_code == 404


def test_a_result_of_a_unit_the_counter_does_not_serve_is_not_found(client, world, open_counter):
    open_counter(client)
    assert client.get(f"/staff/counter/results/{world.mine_elsewhere.source_id}").status_code == 404
    assert client.get("/staff/counter/results/HN-NO-SUCH-RESULT").status_code == 404


def test_nothing_without_a_session(client, world, login_staff):
    login_staff(client, world.clerk)
    refused_to_start(client.get(f"/staff/counter/results/{world.mine.source_id}"))
    refused_to_start(client.get("/staff/counter/session"))


def test_after_30_minutes_the_session_is_over_and_its_summary_mailed_once(
        client, world, open_counter, monkeypatch, smtp_server, db_session):
    open_counter(client)
    assert client.get(f"/staff/counter/results/{world.mine.source_id}").status_code == 200
    later = clock.now() + timedelta(minutes=30, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = client.get(f"/staff/counter/results/{world.mine.source_id}")
    refused_to_start(response)
    assert "hết thời gian" in client.get(response.location, follow_redirects=True).get_data(as_text=True)
    counter = db_session.query(CounterSession).one()
    db_session.refresh(counter)
    assert counter.state == "ended" and counter.ended_reason == "expired"
    assert tasks.close_expired_sessions.call_local() == 0  # already ended: nothing queued again
    [message] = summaries(smtp_server)
    body = message.get_content()
    assert "Trần Văn Minh" in body and "Trích lục khai sinh" in body and "Xem kết quả" in body
    assert world.mine.number_display not in body  # e-mail names results by type, unit and date only


def test_the_periodic_task_ends_expired_sessions_and_mails_each_summary_once(client, world, open_counter,
                                                                             monkeypatch, smtp_server):
    open_counter(client)
    later = clock.now() + timedelta(minutes=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert tasks.close_expired_sessions.call_local() == 1
    assert tasks.close_expired_sessions.call_local() == 0
    refused_to_start(client.get("/staff/counter/session"))
    assert len(summaries(smtp_server)) == 1


def test_another_clerks_login_does_not_reach_the_session(app, client, world, open_counter, login_staff):
    open_counter(client)
    stranger = app.test_client()
    login_staff(stranger, world.other_clerk)
    refused_to_start(stranger.get(f"/staff/counter/results/{world.mine.source_id}"))
    # Even with the session's id planted in their login session: the row names its clerk.
    with client.session_transaction() as mine:
        counter_id = mine["counter_session"]
    with stranger.session_transaction() as theirs:
        theirs["counter_session"] = counter_id
    refused_to_start(stranger.get(f"/staff/counter/results/{world.mine.source_id}"))
    assert stranger.get(f"/staff/counter/sessions/{counter_id}/summary").status_code == 404


def test_after_the_clerk_ends_it_nothing_is_reached_and_the_summary_is_mailed(client, world, open_counter,
                                                                             smtp_server, db_session):
    open_counter(client)
    response = post(client, "/staff/counter/end", token_page="/staff/counter/session")
    assert response.status_code == 303 and "/summary" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "l***@example.vn" in page
    refused_to_start(client.get(f"/staff/counter/results/{world.mine.source_id}"))
    assert len(summaries(smtp_server)) == 1
    assert tasks.close_expired_sessions.call_local() == 0
    assert len(summaries(smtp_server)) == 1


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_only_clerks_and_supervisors_use_the_counter(client, world, make_staff, login_staff, role):
    login_staff(client, make_staff(role=role, units=[world.ward]))
    assert client.get("/staff/counter").status_code == 403
