"""Fixtures of the feedback tests: the copy-request builders (make_request, record_of, make_citizen)
and what they need, re-exported from tests/copy_requests/conftest.py."""

from tests.copy_requests.conftest import (  # noqa: F401
    add_document,
    make_citizen,
    make_record,
    make_request,
    record_of,
    store,
)
