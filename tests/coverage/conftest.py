"""Fixtures of the coverage tests: the page builders (real records and units), re-exported."""

from tests.web.conftest import add_document, make_record, store  # noqa: F401
