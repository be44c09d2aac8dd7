"""SQL statements per page: a fixed, small number, whatever the number of results on it.

A template that touches an attribute the request expired, or a relation no loader option covers,
costs one SELECT per row (N+1): the page got slower with every hit. These budgets catch it. They
are counted with an SQLAlchemy event on the app's engine, for the whole request.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from portal.copy_requests.models import CopyRequest
from portal.db import utcnow
from portal.extensions import db
from portal.identity.models import Citizen
from portal.scorecard import snapshots
from portal.scorecard.models import ScorecardSnapshot
from portal.search.indexing import reindex

#: Page → the most statements it may run (the counts measured when this test was written: the
#: search page ran 48 for 20 hits before read requests stopped expiring what they loaded).
BUDGETS = {
    "search page": 6,
    "search API": 4,
    "result page": 7,
    # The result with its unit, its status history, the unit's successors: never its scans' rows.
    "result API": 3,
    # The total comes from the per-unit counts (portal.figures), made afresh in tests (3 statements,
    # where one count was before); outside tests they are kept 5 minutes and the page runs 6.
    "unit page": 11,
    "home": 3,
    # The unit, its former units' ids, its results grouped by procedure and year (one GROUP BY),
    # the issued counts, the procedures' names, the former units to list: whatever the number of
    # results.
    "coverage page": 7,
}
#: Scorecard pages served from their snapshot (issue 12): the snapshot, the ranking's units, the
#: unit a code names; never the metric queries (tests/scorecard/test_snapshots.py checks that).
SCORECARD_BUDGETS = {
    "/scorecard": 2,
    "/scorecard.csv": 2,
    "/scorecard/{code}": 3,
    "/scorecard/{code}.csv": 3,
}


@contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        # The anonymous API limit (portal.api_keys.access) counts per address in rate_limit_counter
        # when there is no Redis (as here): a fixed few statements on their own connection, the same
        # for 3 hits or 25 and in Redis in production - not the page's reads these budgets are about.
        if "rate_limit_counter" not in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def statements_for(client, url: str) -> int:
    with counting() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def pages(record, unit_slug: str) -> dict[str, str]:
    return {
        "search page": "/search?q=giay+phep+xay+dung",
        "search API": "/api/v1/search?q=giay+phep+xay+dung",
        "result page": f"/results/{record.source_id}",
        "result API": f"/api/v1/results/{record.source_id}",
        "unit page": f"/units/{unit_slug}",
        "home": "/",
        "coverage page": f"/units/{unit_slug}/coverage",
    }


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_a_page_runs_a_fixed_small_number_of_statements(app, client, db_session, make_record, name):
    from tests.web.conftest import legacy_unit_with_successor

    unit = legacy_unit_with_successor(db_session)
    current_slug = unit.successor_links[0].new_unit.slug
    history = [(None, "valid", "imported"), ("valid", "revoked", "annulled by decision 12/QĐ")]
    few = [make_record(unit=unit, files=True, history=history) for _ in range(3)]
    db_session.commit()
    reindex(db_session)
    url = pages(few[0], current_slug)[name]
    with_few = statements_for(client, url)

    for _ in range(22):  # more than a page of hits
        make_record(unit=unit, files=True, history=history)
    db_session.commit()
    reindex(db_session)
    with_many = statements_for(client, url)

    assert with_many <= BUDGETS[name], f"{name}: {with_many} statements, budget {BUDGETS[name]}"
    assert with_many == with_few, f"{name}: {with_few} statements for 3 results, {with_many} for 25"


@pytest.mark.parametrize("url", sorted(SCORECARD_BUDGETS))
def test_a_scorecard_page_runs_a_fixed_small_number_of_statements(client, db_session, make_record, url):
    from tests.web.conftest import legacy_unit_with_successor

    unit = legacy_unit_with_successor(db_session)
    current = unit.successor_links[0].new_unit
    citizen = Citizen(issuer="https://sso.test", sub="budget", name="Nguyễn Văn Nam", loa=2)
    for n in range(3):  # results, and copy requests so that the city's page ranks the unit
        record = make_record(unit=unit, files=True)
        db_session.add(CopyRequest(
            reference=f"BS-2026-{n + 1:06d}", record=record, requester=citizen, unit=current,
            kind="electronic", purpose="Bổ sung hồ sơ", pages=1, fee_vnd=0, submitted_at=utcnow(),
            due_at=utcnow() + timedelta(hours=8), state="submitted"))
    db_session.commit()
    snapshots.refresh(db_session, utcnow())
    db_session.commit()
    assert db_session.get(ScorecardSnapshot, ("city", "last-12-months")).figures["ranking"]  # a unit to load
    count = statements_for(client, url.format(code=current.code))
    assert count <= SCORECARD_BUDGETS[url], f"{url}: {count} statements, budget {SCORECARD_BUDGETS[url]}"
