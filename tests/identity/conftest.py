"""Login tests reuse the page builders: real records with real scans in the app's file store."""

from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures, re-exported)
