"""Unit page tests reuse the search builders: real records on real reference units."""

from tests.search.conftest import make_record  # noqa: F401  (a fixture, re-exported for this directory)
