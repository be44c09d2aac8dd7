"""A page number is read from what anyone can type: "²" is a digit to str.isdigit() but not a number
to int(). Every public list answers such a query with its first page, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url, status", [
    ("/feedback/answers?page=²", 200), ("/search?q=giay+phep&page=²", 200), ("/units?page=²", 200),
    ("/scorecard?year=²", 400),  # the last 12 months, with a message that the year is not one
    ("/api/v1/search?q=giay+phep&page=²", 400),
])
def test_a_superscript_digit_is_not_a_page_number(client, url, status):
    assert client.get(url).status_code == status


@pytest.mark.parametrize("url, status", [
    ("/scorecard?year=" + "9" * 5000, 400), ("/scorecard.csv?year=²", 400),
    ("/scorecard/01?endpoint=x", 301), ("/scorecard/01.csv?endpoint=x", 301),
])
def test_odd_scorecard_queries_get_a_page_not_a_500(client, url, status):
    assert client.get(url).status_code == status
