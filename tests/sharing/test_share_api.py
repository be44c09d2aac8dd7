"""GET /api/v1/shares/{token}: what the link's page shows, as JSON; and openings racing for a
one-time link."""

from __future__ import annotations

import threading

from sqlalchemy import select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.sharing import services
from portal.sharing.models import ShareLink
from tests.at_once import run_at_once
from tests.sharing.conftest import CITIZEN_ID
from tests.sharing.test_share_pages import links, make_share


def test_the_api_answers_the_chosen_fields_and_logs_the_opening(app, client, login_citizen, personal,
                                                                 db_session):
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, fields=["holder_name", "scans"])
    answer = app.test_client().get(f"/api/v1/shares/{token}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Robots-Tag"] == "noindex, nofollow"
    body = answer.get_json()
    assert (body["document_type"], body["number"]) == ("Trích lục khai sinh", "77/TLKS")
    assert body["status"] == "valid"
    assert body["holder_name"] == "NGUYỄN THỊ LAN" and body["fields"] == ["holder_name", "scans"]
    assert body["valid_to"] == "2030-01-01" and body["as_of"] and body["verification_code"]
    assert body["recipient"] == "Ngân hàng Thử nghiệm, chi nhánh Cầu Giấy"
    text = answer.get_data(as_text=True)
    for hidden in (CITIZEN_ID, "1985-03-12", "Nguyễn Minh An"):
        assert hidden not in text
    assert len(body["scans"]) == 3
    image = app.test_client().get(body["scans"][0]["url"])
    assert image.status_code == 200 and image.mimetype == "image/png"
    image.close()
    # The same code the holder sees on their list.
    assert body["verification_code"] in client.get("/my/shares").get_data(as_text=True)
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "record.view")).one()
    assert entry.channel == "api" and entry.actor.startswith("share:")


def test_the_api_refuses_unknown_revoked_and_spent_links_with_problem_details(app, client, login_citizen,
                                                                            personal, db_session):
    login_citizen(client, "citizen")
    anonymous = app.test_client()
    unknown = anonymous.get("/api/v1/shares/nothing-like-a-token")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert unknown.get_json()["messages"]["vi"]

    once = make_share(client, personal.source_id, one_time=True, fields=["holder_name"])
    assert anonymous.get(f"/api/v1/shares/{once}").status_code == 200
    spent = anonymous.get(f"/api/v1/shares/{once}")
    assert spent.status_code == 410 and spent.mimetype == "application/problem+json"
    assert "một lần" in spent.get_json()["messages"]["vi"] and "NGUYỄN" not in spent.get_data(as_text=True)

    token = make_share(client, personal.source_id)
    link = links(db_session)[-1]
    services.revoke(db_session, link.citizen, link.id)
    db_session.commit()
    revoked = anonymous.get(f"/api/v1/shares/{token}")
    assert revoked.status_code == 410
    assert revoked.get_json()["messages"]["en"] == "The holder revoked this link."


def test_the_operation_is_documented(client):
    contract = client.get("/api/v1/openapi.json").get_json()
    operation = contract["paths"]["/api/v1/shares/{token}"]["get"]
    assert operation["operationId"] == "getShare"
    assert {"200", "404", "410", "429"} <= set(operation["responses"])
    assert {} in operation["security"]  # no key needed: the token is the credential


def test_two_openings_at_once_of_a_one_time_link_give_one_page(app, client, login_citizen, personal,
                                                               monkeypatch):
    """Both read the link while it was unspent; the UPDATE ... WHERE used_at IS NULL lets one through."""
    login_citizen(client, "citizen")
    token = make_share(client, personal.source_id, one_time=True)
    db.session.remove()
    both_checked = threading.Barrier(2, timeout=20)
    real_state = services.state

    def state_then_wait(link, now=None):
        found = real_state(link, now)
        both_checked.wait()  # both openings have seen it unspent before either spends it
        return found

    monkeypatch.setattr(services, "state", state_then_wait)
    outcomes: list[str] = []

    def opening() -> None:
        with app.app_context():
            try:
                services.open_link(db.session, token)
                db.session.commit()
                outcomes.append("opened")
            except services.Gone as gone:
                db.session.rollback()
                outcomes.append(gone.state.value)
            finally:
                db.session.remove()

    run_at_once(opening, opening)
    assert sorted(outcomes) == ["opened", "used"]
    with app.app_context():
        (link,) = db.session.scalars(select(ShareLink)).all()
        assert link.openings == 1 and link.used_at is not None
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "record.view")).all()
        assert len(entries) == 1
