"""PostgreSQL restarted while a clerk issues a copy (issue 16, item 5): the copy is issued once.

The portal runs on a PostgreSQL server of the test's own (tests/pg_cluster.py). The server is
restarted (fast: connections cut) just after the copy is signed and before the request's
transaction commits, the worst moment: the clerk gets a clear 503 saying nothing was saved, the
request is still "in progress" with no copy, and pressing "issue" again issues exactly one copy.
Run in the PostgreSQL run only: the restart is PostgreSQL's.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.copy_requests import signing
from portal.copy_requests.models import CopyRequest, IssuedCopy
from portal.copy_requests.workflow import State
from portal.extensions import db
from tests.conftest import TEST_DB, csrf_token
from tests.copy_requests.test_workbench import (  # noqa: F401  (fixtures, re-used)
    QUEUE,
    clerk,
    clerk_client,
    english,
    new_request,
    old_unit,
    page,
    record,
    unit_key,
    ward,
)
from tests.pg_cluster import cluster, database  # noqa: F401  (the test's own server)

pytestmark = pytest.mark.skipif(TEST_DB != "postgresql",
                                reason="a PostgreSQL server restarted: run in the PostgreSQL run")


def test_a_restart_while_issuing_loses_nothing_and_the_copy_is_issued_once(
        app, clerk_client, clerk, new_request, record, unit_key, cluster, monkeypatch):
    request = new_request(record, state=State.IN_PROGRESS, assigned_to=clerk)
    address, request_id = f"{QUEUE}{request.reference}", request.id
    data = {"csrf_token": csrf_token(clerk_client, address), "seen_state": "in_progress"}
    real_sign = signing.sign_pdf

    def sign_then_restart(*args, **kwargs):
        signed = real_sign(*args, **kwargs)
        cluster.restart()  # the request's transaction (the claim, the copy's row) dies with its connection
        return signed

    monkeypatch.setattr(signing, "sign_pdf", sign_then_restart)
    refused = clerk_client.post(f"{address}/issue", data=data)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "30"
    html = refused.get_data(as_text=True)
    assert "database is not answering" in html and "Nothing of what you sent was saved" in html

    monkeypatch.setattr(signing, "sign_pdf", real_sign)
    db.session.remove()  # the test's own connection was cut too
    assert db.session.get(CopyRequest, request_id).state == State.IN_PROGRESS
    assert db.session.scalars(select(IssuedCopy)).all() == []

    # The clerk presses "issue" again (the page's form as it was): one copy, one "issue" event.
    again = clerk_client.post(f"{address}/issue", data=data)
    assert again.status_code == 302
    assert "is signed and issued" in page(clerk_client, again.location)
    db.session.expire_all()
    request = db.session.get(CopyRequest, request_id)
    assert request.state == State.ISSUED
    assert len(db.session.scalars(select(IssuedCopy).where(IssuedCopy.request_id == request.id)).all()) == 1
    assert [event.action for event in request.events] == ["submit", "assign", "issue"]
    # And a third press, say from a second tab, is told it was already done.
    third = clerk_client.post(f"{address}/issue", data=data)
    assert "already been processed" in page(clerk_client, third.location)
    assert db.session.scalar(select(db.func.count()).select_from(IssuedCopy)) == 1
