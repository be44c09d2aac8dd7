"""Fees of copy requests, computed from rules held as data (data/fees.json, or COPY_FEES_FILE).

A rule matches a procedure code (or "*") and a kind of copy. For each copy it charges its page
tiers (Circular 226/2016/TT-BTC for certification: 2,000 đ/page for pages 1–2, 1,000 đ/page from
page 3), capped at ``max_per_copy``, plus a flat ``per_copy``; then ``per_request`` once (postage).
A rule with none of these is free. The first matching rule wins: specific procedures go first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from portal.copy_requests.models import CopyKind

DEFAULT_FILE = Path(__file__).parent / "data" / "fees.json"


@dataclass(frozen=True)
class Tier:
    from_page: int
    to_page: int | None
    per_page: int


@dataclass(frozen=True)
class FeeRule:
    procedure: str
    kind: str
    tiers: tuple[Tier, ...] = ()
    max_per_copy: int | None = None
    per_copy: int = 0
    per_request: int = 0

    def matches(self, procedure_code: str | None, kind: str) -> bool:
        return self.kind == kind and self.procedure in ("*", procedure_code)


@dataclass(frozen=True)
class QuoteLine:
    """One line of the breakdown: ``quantity`` × ``unit_vnd`` = ``amount_vnd`` (label translated lazily)."""

    label: str
    quantity: int
    unit_vnd: int
    amount_vnd: int


@dataclass(frozen=True)
class Quote:
    total_vnd: int
    per_copy_vnd: int
    pages: int
    copies: int
    lines: tuple[QuoteLine, ...]

    @property
    def free(self) -> bool:
        return self.total_vnd == 0


class FeeRulesError(ValueError):
    """The rules file is malformed, or no rule covers a kind."""


def _int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FeeRulesError(f"{name} must be a whole number of đồng ≥ 0, not {value!r}")
    return value


def parse_rules(data: dict) -> tuple[FeeRule, ...]:
    """Rules from the JSON shape of data/fees.json. Raises FeeRulesError."""
    rules = []
    kinds = {kind.value for kind in CopyKind}
    for i, raw in enumerate(data.get("rules", [])):
        if raw.get("kind") not in kinds:
            raise FeeRulesError(f"rule {i}: kind must be one of {sorted(kinds)}, not {raw.get('kind')!r}")
        tiers = tuple(Tier(from_page=_int(t["from_page"], "from_page"),
                           to_page=None if t.get("to_page") is None else _int(t["to_page"], "to_page"),
                           per_page=_int(t["per_page"], "per_page")) for t in raw.get("tiers", ()))
        cap = raw.get("max_per_copy")
        rules.append(FeeRule(procedure=str(raw.get("procedure", "*")), kind=raw["kind"], tiers=tiers,
                             max_per_copy=None if cap is None else _int(cap, "max_per_copy"),
                             per_copy=_int(raw.get("per_copy", 0), "per_copy"),
                             per_request=_int(raw.get("per_request", 0), "per_request")))
    if not rules:
        raise FeeRulesError("no fee rules")
    return tuple(rules)


@lru_cache(maxsize=8)
def load_rules(path: str | Path | None = None) -> tuple[FeeRule, ...]:
    """The rules of ``path`` (default: the packaged data/fees.json), read once per process."""
    with open(path or DEFAULT_FILE, encoding="utf-8") as f:
        return parse_rules(json.load(f))


def find_rule(rules: tuple[FeeRule, ...], procedure_code: str | None, kind: str) -> FeeRule:
    for rule in rules:
        if rule.matches(procedure_code, kind):
            return rule
    raise FeeRulesError(f"no fee rule for kind {kind!r} (procedure {procedure_code!r})")


def page_count(record_or_pages) -> int:
    """Pages of a result's scans (every file: the result and its attachments), or a number as is."""
    if isinstance(record_or_pages, int):
        return record_or_pages
    return sum(f.document.pages for f in record_or_pages.files)


def quote(record_or_pages, kind: CopyKind | str, copies: int = 1, procedure_code: str | None = None, *,
          rules: tuple[FeeRule, ...] | None = None) -> Quote:
    """What ``copies`` copies of ``kind`` cost for a result (or a number of pages).

    ``procedure_code`` defaults to the record's. Raises FeeRulesError when no rule covers the kind.
    """
    pages = page_count(record_or_pages)
    if procedure_code is None and not isinstance(record_or_pages, int):
        procedure_code = record_or_pages.procedure_code
    if copies < 1 or pages < 0:
        raise ValueError("copies must be ≥ 1 and pages ≥ 0")
    rule = find_rule(rules or load_rules(), procedure_code, str(kind))
    lines: list[QuoteLine] = []
    paged = 0
    for tier in rule.tiers:
        last = pages if tier.to_page is None else min(pages, tier.to_page)
        count = max(0, last - tier.from_page + 1)
        if not count:
            continue
        if tier.to_page is None:
            label = _l("From page %(first)s", first=tier.from_page)
        elif tier.to_page == tier.from_page:
            label = _l("Page %(first)s", first=tier.from_page)
        else:
            label = _l("Pages %(first)s–%(last)s", first=tier.from_page, last=tier.to_page)
        lines.append(QuoteLine(label, count, tier.per_page, count * tier.per_page))
        paged += count * tier.per_page
    if rule.max_per_copy is not None and paged > rule.max_per_copy:
        lines.append(QuoteLine(_l("Capped at the most charged per copy"), 1, rule.max_per_copy - paged,
                               rule.max_per_copy - paged))
        paged = rule.max_per_copy
    if rule.per_copy:
        lines.append(QuoteLine(_l("Fee per copy"), 1, rule.per_copy, rule.per_copy))
    per_copy = paged + rule.per_copy
    total = per_copy * copies
    if copies > 1 and per_copy:
        lines.append(QuoteLine(_l("Number of copies"), copies, per_copy, total))
    if rule.per_request:
        lines.append(QuoteLine(_l("Postage (public post), once per request"), 1, rule.per_request,
                               rule.per_request))
        total += rule.per_request
    return Quote(total_vnd=total, per_copy_vnd=per_copy, pages=pages, copies=copies, lines=tuple(lines))
