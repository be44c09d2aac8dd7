"""The API against its own contract, checked by schemathesis (a tool no one here wrote).

A live server (werkzeug in a thread, as the browser tests) answers the cases schemathesis derives
from /api/v1/openapi.json: valid and invalid parameters of every operation. Each answer must not be
a server error, must have a documented status and media type, and must match its schema.
Bounded (MAX_EXAMPLES per operation) so it stays well under a minute. It runs on SQLite and on
PostgreSQL: the database does change what input can do (PostgreSQL refuses a NUL byte in a string,
which schemathesis sends, and which must be a 4xx, not a 500).
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import WSGIRequestHandler, make_server

from portal.api_keys import service
from portal.search import get_search
from portal.search.indexing import reindex
from tests.search.conftest import TODAY

MAX_EXAMPLES = 30
#: verifyUpload also takes the PDF as the whole body (application/pdf): bytes, as octet-stream.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def api_base(app, db_session, make_record):
    """Demo-like data (public and personal results, a revoked one, two years) behind a live server."""
    # Every case comes from one address: the anonymous limit (60 a minute) would answer most with 429.
    app.config["API_ANONYMOUS_RATE_LIMIT"] = "100000 per minute"
    # The tracking operations keep their forms' per-address caps (20 an hour, 10 in 15 minutes).
    app.config["COPY_TRACK_RATE_LIMIT"] = app.config["FEEDBACK_TRACK_RATE_LIMIT"] = "100000 per minute"
    make_record(doc_number="123", doc_notation="GPXD", holder="Phạm Văn Đông")
    make_record(doc_number="7", doc_notation="TLKS", doc_type_name="Trích lục khai sinh", access="personal",
                holder="Lê Văn An", id_number="001085012345")
    make_record(doc_number="45", doc_notation="GCN", issued_date=date(2023, 3, 1), status="revoked")
    reindex(db_session, get_search, today=TODAY)
    # A key for the operations that need one.
    app.config["TEST_API_KEY"] = service.issue(db_session, "cli", organization="Schemathesis",
                                               scopes=sorted(service.SCOPES), daily_quota=100000).secret
    db_session.commit()
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


# schemathesis.pytest.from_fixture reads pytest's private Function._nodeid, gone in pytest 9: so each
# operation's strategy is drawn by a plain Hypothesis test inside this one.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_its_contract(app, api_base, mode):
    schema = schemathesis.openapi.from_url(f"{api_base}/api/v1/openapi.json")
    # Keys are the test's own (below), not drawn: a random key is a 401 and tests nothing else.
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/search", "/api/v1/suggest", "/api/v1/keys/me/usage",
                                              "/api/v1/results/{source_id}"}
    for operation in operations:
        params = operation.definition.raw.get("parameters", [])
        if (mode == GenerationMode.NEGATIVE and not any(p["in"] == "query" for p in params)
                and "requestBody" not in operation.definition.raw):
            # Nothing to make invalid: /keys/me/usage takes only the key, /results/{source_id} any string.
            continue
        # A key (with every scope) where the document says one is required; the others are tried
        # anonymously, as most callers are.
        keyed = {} not in operation.definition.raw.get("security", [{}])
        headers = {"X-API-Key": app.config["TEST_API_KEY"]} if keyed else None

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def keeps_contract(case):
            # Run at once, in this iteration: the loop variable is the one meant.
            case.call_and_validate(base_url=api_base, checks=CHECKS, headers=headers)  # noqa: B023

        keeps_contract()
