"""A page number is read from what anyone can type: "²" is a digit to str.isdigit() but not a number
to int(). Every public list answers such a query with its first page, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url", [
    "/feedback/answers?page=²", "/search?q=giay+phep&page=²", "/units?page=²", "/scorecard?year=²",
    "/api/v1/search?q=giay+phep&page=²",
])
def test_a_superscript_digit_is_not_a_page_number(client, url):
    assert client.get(url).status_code in (200, 400)


@pytest.mark.parametrize("url", [
    "/scorecard?year=" + "9" * 5000, "/scorecard.csv?year=²",
    "/scorecard/01?endpoint=x", "/scorecard/01.csv?endpoint=x",
])
def test_odd_scorecard_queries_get_a_page_not_a_500(client, url):
    assert client.get(url).status_code in (200, 301, 400, 404)
