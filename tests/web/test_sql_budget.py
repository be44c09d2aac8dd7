"""SQL statements per page: a fixed, small number, whatever the number of results on it.

A template that touches an attribute the request expired, or a relation no loader option covers,
costs one SELECT per row (N+1): the page got slower with every hit. These budgets catch it. They
are counted with an SQLAlchemy event on the app's engine, for the whole request.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.search.indexing import reindex

#: Page → the most statements it may run (the counts measured when this test was written: the
#: search page ran 48 for 20 hits before read requests stopped expiring what they loaded).
BUDGETS = {
    "search page": 6,
    "search API": 4,
    "result page": 7,
    # The total comes from the per-unit counts (portal.figures), made afresh in tests (3 statements,
    # where one count was before); outside tests they are kept 5 minutes and the page runs 6.
    "unit page": 11,
    "home": 3,
}


@contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
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
        "unit page": f"/units/{unit_slug}",
        "home": "/",
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
