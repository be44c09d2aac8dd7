"""Fees come from the rules file: Circular 226/2016 tiers for certification, free kinds stay free."""

from __future__ import annotations

import json

import pytest

from portal.copy_requests import fees, services


@pytest.mark.parametrize(("pages", "fee"), [(1, 2_000), (2, 4_000), (3, 5_000), (10, 12_000), (198, 200_000),
                                            (199, 200_000), (250, 200_000)])
def test_certification_follows_circular_226(pages, fee):
    quote = fees.quote(pages, "certified", 1, "1.001.001")
    assert quote.total_vnd == quote.per_copy_vnd == fee


def test_copies_multiply_the_fee_of_one_copy():
    assert fees.quote(3, "certified", 2, "1.001.001").total_vnd == 10_000
    capped = fees.quote(250, "certified", 3, "1.001.001")
    assert (capped.per_copy_vnd, capped.total_vnd) == (200_000, 600_000)


def test_the_breakdown_adds_up_to_the_total_and_names_the_cap():
    quote = fees.quote(250, "certified", 2, "1.001.001")
    lines = {str(line.label): line for line in quote.lines}
    assert lines["Pages 1–2"].amount_vnd == 4_000
    assert (lines["From page 3"].quantity, lines["From page 3"].amount_vnd) == (248, 248_000)
    assert lines["Capped at the most charged per copy"].amount_vnd == -52_000
    assert (lines["Number of copies"].quantity, lines["Number of copies"].amount_vnd) == (2, 400_000)
    per_copy_lines = [line for line in quote.lines if str(line.label) != "Number of copies"]
    assert sum(line.amount_vnd for line in per_copy_lines) == quote.per_copy_vnd


@pytest.mark.parametrize("copies", [1, 4, 10])
def test_an_electronic_copy_from_the_register_is_free(copies):
    quote = fees.quote(250, "electronic", copies, "1.001.001")
    assert quote.total_vnd == 0 and quote.free and quote.lines == ()


def test_paper_by_post_pays_postage_once_per_request():
    assert fees.quote(3, "paper_desk", 2, "x").total_vnd == 16_000
    assert fees.quote(3, "paper_post", 2, "x").total_vnd == 16_000 + 25_000


def test_a_procedure_rule_wins_over_the_catch_all():
    rules = fees.parse_rules({"rules": [
        {"procedure": "2.000.100", "kind": "certified"},  # free for this procedure
        {"procedure": "*", "kind": "certified", "tiers": [{"from_page": 1, "per_page": 3000}]},
        {"procedure": "*", "kind": "electronic"},
    ]})
    assert fees.quote(4, "certified", 1, "2.000.100", rules=rules).total_vnd == 0
    assert fees.quote(4, "certified", 1, "1.004.227", rules=rules).total_vnd == 12_000
    with pytest.raises(fees.FeeRulesError):
        fees.quote(4, "paper_desk", 1, "1.004.227", rules=rules)


@pytest.mark.parametrize("bad", [{"rules": []}, {"rules": [{"kind": "photo"}]},
                                 {"rules": [{"kind": "certified", "per_copy": -5}]},
                                 {"rules": [{"kind": "certified", "per_copy": "5000"}]}])
def test_a_malformed_rules_file_is_refused(bad):
    with pytest.raises(fees.FeeRulesError):
        fees.parse_rules(bad)


def test_the_fee_of_a_result_counts_the_pages_of_all_its_scans(make_record):
    record = make_record(files=True)  # a 2-page PDF and a 1-page JPEG
    assert fees.page_count(record) == 3
    assert fees.quote(record, "certified").total_vnd == 5_000


def test_the_rules_file_is_configurable(tmp_path):
    path = tmp_path / "fees.json"
    path.write_text(json.dumps({"rules": [{"procedure": "*", "kind": kind, "per_copy": 1_000}
                                          for kind in ("electronic", "certified", "paper_desk",
                                                       "paper_post")]}))
    rules = services.rules_from_config({"COPY_FEES_FILE": str(path)})
    assert fees.quote(7, "electronic", 2, "x", rules=rules.fees).total_vnd == 2_000
