"""Builders for signed-copy tests: a development CA, and a copy request ready to be issued.

``issuable(**record_fields)`` → (request, clerk): a committed request in progress for a result with
a 2-page PDF and a JPEG, made by a citizen account whose subject is the result's, assigned to a
clerk of the result's current unit. ``issue(request, clerk)`` signs it and commits.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from portal.copy_requests import events, signing
from portal.copy_requests.models import CopyRequest
from portal.copy_requests.workflow import Action
from portal.extensions import db
from portal.identity.models import Citizen
from portal.units.services import successors

#: 08:30 in Hanoi on Monday 23 November 2026.
ISSUED_AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


@pytest.fixture
def dev_ca(app, runner):
    result = runner.invoke(args=["copies", "dev-ca"])
    assert result.exit_code == 0, result.output
    return app.config["COPY_PKI_DIR"]


@pytest.fixture
def issuable(app, dev_ca, make_record, make_staff):
    counter = itertools.count(1)

    def build(*, kind: str = "electronic", subject_kind: str = "organization", record=None, **record_fields):
        """A request of ``record`` (by default a new one of ``record_fields``) assigned to a clerk."""
        n = next(counter)
        record = record or make_record(files=True, **record_fields)
        record.subject.kind = subject_kind
        unit = successors(record.issuing_unit)[0].new_unit
        clerk = make_staff(role="clerk", units=[unit], username=f"clerk.sign{n}", full_name="Lê Thị Thu Hà")
        requester = Citizen(issuer="https://sso.test", sub=f"sub-sign-{n}", name=record.subject.name, loa=2,
                            account_type=subject_kind,
                            **({"subject": record.subject} if subject_kind == "individual"
                               else {"organization": record.subject}))
        request = CopyRequest(reference=f"BS-2026-{900000 + n}", record=record, requester=requester,
                              unit=unit,
                              kind=kind, copies=1, purpose="Nộp hồ sơ vay vốn ngân hàng", email="",
                              pages=3, fee_vnd=0, submitted_at=ISSUED_AT - timedelta(hours=2),
                              due_at=ISSUED_AT + timedelta(hours=6))
        db.session.add(request)
        db.session.flush()
        events.record_submitted(db.session, request, requester.audit_name)
        events.transition(db.session, request, Action.ASSIGN, clerk.audit_name,
                          at=ISSUED_AT - timedelta(hours=1))
        request.assigned_to = clerk
        db.session.commit()
        return request, clerk

    return build


@pytest.fixture
def issue(app):
    def run(request, clerk, now=ISSUED_AT):
        copy = signing.issue_copy(db.session, request, clerk, now)
        events.transition(db.session, request, Action.ISSUE, clerk.audit_name, at=now)
        db.session.commit()
        return copy

    return run


def stored_bytes(app, copy) -> bytes:
    from portal.files.store import FileStore

    with FileStore.from_config(app.config).open(copy.sha256) as handle:
        return handle.read()
