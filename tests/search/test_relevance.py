"""The relevance test set: ≥ 95 % of what people type has the result they want in the top 3.

Data: the demo seed below (deterministic). Queries: tests/search/relevance/queries.jsonl, written once
by tests/search/relevance/make_queries.py from the same seed (see its docstring for the kinds).
Every query goes through `search_records`, the same path as the pages and the API.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from portal.search.service import search_records
from tests.search.conftest import TODAY
from tests.search.relevance.make_queries import SEED_ARGS

QUERIES = Path(__file__).parent / "relevance" / "queries.jsonl"
KINDS = {"no_diacritics", "d_for_dj", "typo", "prefix", "holder", "identifier", "old_unit", "new_unit",
         "district"}
TARGET = 0.95


@pytest.fixture(params=["small", "city"])
def scale(request, monkeypatch):
    """"city": the engine treats words as it does at a million results, where most are common."""
    if request.param == "city":
        from portal.search.adapters import embedded

        monkeypatch.setattr(embedded, "COMMON_MIN_DOCS", 0)
    return request.param


def test_relevance(app, runner, db_session, capsys, scale):
    queries = [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines()]
    assert len(queries) >= 200 and {q["kind"] for q in queries} == KINDS
    result = runner.invoke(args=SEED_ARGS)
    assert result.exit_code == 0, result.output
    found, asked, misses = Counter(), Counter(), []
    for q in queries:
        page = search_records(db_session, q["query"], per_page=3, today=TODAY)
        assert not page.degraded
        top = [hit.record.source_id for hit in page.hits]
        asked[q["kind"]] += 1
        if q["expected"] in top:
            found[q["kind"]] += 1
        else:
            misses.append(f"  {q['kind']:<13} {q['query']!r} → {top} (want {q['expected']})")
    score = sum(found.values()) / len(queries)
    with capsys.disabled():
        print(f"\nrelevance ({scale}): {sum(found.values())}/{len(queries)} = {score:.1%} in the top 3; "
              + ", ".join(f"{k} {found[k]}/{asked[k]}" for k in sorted(asked)))
        print("\n".join(misses))
    assert score >= TARGET
