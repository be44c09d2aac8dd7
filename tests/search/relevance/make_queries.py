"""Write tests/search/relevance/queries.jsonl: what people type, and the result they want.

Run once (deterministic; commit its output): ``python tests/search/relevance/make_queries.py``.
The data is `flask demo seed --results 400 --seed 11 --unique-scans 0`, exactly what
tests/search/test_relevance.py seeds. Queries are built from each record the way a person would
remember it (type of document + street, holder's name, the old or new ward, the number), then
changed the way people change them (no tone marks, d for đ, one typo, the last word cut).
When type + place is shared by more than 3 results, the street is added, as a person would.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

SEED, RESULTS = 11, 400
#: Communes and wards were merged on this day: addresses before it name the old units.
MERGER = date(2025, 7, 1)
SEED_ARGS = ["demo", "seed", "--results", str(RESULTS), "--seed", str(SEED), "--unique-scans", "0"]
OUT = Path(__file__).with_name("queries.jsonl")
#: What people call each document type (the first that starts the type name wins).
SHORT = [
    ("Giấy chứng nhận đăng ký hộ kinh doanh", ["đăng ký hộ kinh doanh", "giấy chứng nhận hộ kinh doanh"]),
    ("Thông báo về việc chấm dứt hoạt động hộ kinh doanh", ["chấm dứt hộ kinh doanh"]),
    ("Giấy phép đủ điều kiện kinh doanh dịch vụ karaoke", ["giấy phép karaoke"]),
    ("Giấy phép xây dựng (sửa chữa", ["giấy phép sửa chữa cải tạo", "giấy phép xây dựng"]),
    ("Giấy phép di dời", ["giấy phép di dời"]),
    ("Giấy phép xây dựng", ["giấy phép xây dựng"]),
]
_UNIT_PREFIX = re.compile(r"^(Phường|Xã|Thị trấn|Quận|Huyện|Thị xã|Thành phố)\s+", re.IGNORECASE)
_ADDRESS = re.compile(r"(?:tại|địa điểm kinh doanh:)\s+([^,;]+)(?:,\s*([^,;]+))?")


def fold(text: str) -> str:
    from portal.text import fold as _fold

    return " ".join(re.findall(r"[^\W_]+", _fold(text)))


def short_type(doc_type: str, rng: random.Random) -> str:
    for prefix, names in SHORT:
        if doc_type.startswith(prefix):
            return rng.choice(names)
    return doc_type.split("(")[0].split(",")[0].strip().lower()


def bare(unit_name: str) -> str:
    return _UNIT_PREFIX.sub("", unit_name)


def address(summary: str) -> str | None:
    """"số 278 phố Tràng Tiền" → "278 Tràng Tiền"; "xóm Bãi, xã Xuân Canh" → "xóm Bãi Xuân Canh"."""
    match = _ADDRESS.search(summary)
    if not match:
        return None
    place, area = match.group(1), match.group(2) or ""
    street = re.search(r"(?:phố|đường)\s+(.+)$", place)
    number = re.match(r"số\s+(\d+)", place)
    if street:
        return f"{number.group(1)} {street.group(1)}" if number else street.group(1)
    return f"{place} {bare(area.strip())}".strip()


def old_commune(summary: str) -> str | None:
    """The ward or commune of the address, as named when the result was issued."""
    match = _ADDRESS.search(summary)
    area = (match.group(2) or "").strip() if match else ""
    return bare(area) if _UNIT_PREFIX.match(area) else None


def typo(text: str, rng: random.Random) -> str | None:
    """One edit in one word of ≥ 4 letters (folded), never leaving it under 4 letters."""
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return None
    i = rng.choice(candidates)
    word = words[i]
    edit = rng.choice(["swap", "replace", "drop"] if len(word) >= 5 else ["swap", "replace"])
    j = rng.randrange(1, len(word) - 1)  # people rarely get the first letter wrong
    if edit == "swap":
        word = word[:j] + word[j + 1] + word[j] + word[j + 2:] if word[j] != word[j + 1] else \
            word[:j] + "x" + word[j + 1:]
    elif edit == "replace":
        word = word[:j] + rng.choice([c for c in "aeioudhnt" if c != word[j]]) + word[j + 1:]
    else:
        word = word[:j] + word[j + 1:]
    words[i] = word
    return " ".join(words)


def spaced(identifier: str, rng: random.Random) -> str:
    """The identifier as people type it: other case, spaces around separators or instead of them."""
    style = rng.choice(["lower", "spaces", "nospaces", "upper-spaced"])
    if style == "lower":
        return identifier.lower()
    if style == "spaces":
        return re.sub(r"[/.\-]", lambda m: f" {m.group()} ", identifier).lower()
    if style == "nospaces":
        return re.sub(r"[/.\-]", "", identifier)
    return re.sub(r"[/.\-]", " ", identifier).upper()


def build(session) -> list[dict]:
    from sqlalchemy import select

    from portal.records.models import Access, Record
    from portal.units.services import successors

    records = session.scalars(select(Record).order_by(Record.source_id)).all()
    public = [r for r in records if r.access == Access.PUBLIC]
    haystack = {r.source_id: set(fold(" ".join([r.doc_type_name, r.summary, r.subject.name, r.issuer_name,
                                                  *_unit_names(r)])).split()) for r in public}
    rng = random.Random(SEED)
    out: list[dict] = []

    def add(kind: str, query: str | None, record) -> None:
        if query:
            out.append({"query": query, "kind": kind, "expected": record.source_id})

    def specific(words: str, record) -> str:
        """Add the street when type + place alone fits more than 3 results."""
        folded = set(fold(words).split())
        if sum(folded <= hay for hay in haystack.values()) > 3 and address(record.summary):
            return f"{words} {address(record.summary)}"
        return words

    for record in public:
        kind_of = short_type(record.doc_type_name, rng)
        holder = record.subject.name
        place = address(record.summary)
        unit = record.issuing_unit
        if place:
            add("no_diacritics", fold(f"{kind_of} {place}"), record)
            cut = fold(f"{kind_of} {place}").split()
            if len(cut[-1]) >= 3 and cut[-1].isalpha():
                cut[-1] = cut[-1][:rng.randrange(2, len(cut[-1]))]
                add("prefix", " ".join(cut), record)
        add("holder", f"{holder} {kind_of}", record)
        add("typo", typo(fold(f"{holder} {kind_of}"), rng), record)
        with_dj = next((t for t in (f"{holder} {kind_of}", f"{kind_of} {place or ''}") if "đ" in t.lower()),
                       None)
        if with_dj:
            add("d_for_dj", with_dj.replace("đ", "d").replace("Đ", "D").strip(), record)
        if unit.system == "legacy":
            if unit.level == "commune":
                add("old_unit", fold(specific(f"{kind_of} {bare(unit.name)}", record)), record)
            elif old_commune(record.summary) and record.issued_date < MERGER:
                add("old_unit", fold(specific(f"{kind_of} {old_commune(record.summary)}", record)), record)
            links = successors(unit)
            if links:
                add("new_unit", fold(specific(f"{kind_of} {bare(links[0].new_unit.name)}", record)), record)
        district = unit if unit.level == "district" else unit.parent
        if district is not None and district.level == "district":
            add("district", fold(specific(f"{kind_of} {bare(district.name)}", record)), record)
    for record in records:  # identifiers: personal results too (found restricted, by exact number)
        if record.doc_notation and rng.random() < 0.3:
            add("identifier", spaced(record.number_display, rng), record)
        elif record.dossier_code and rng.random() < 0.2:
            add("identifier", spaced(record.dossier_code, rng), record)
    return out


def _unit_names(record) -> list[str]:
    from portal.units.services import unit_names

    return unit_names(record.issuing_unit)


def main() -> None:
    from portal import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
                          "DATA_DIR": f"{tmp}/data", "HUEY_IMMEDIATE": True})
        with app.app_context():
            from flask_migrate import upgrade

            from portal.extensions import db
            from portal.refdata import sync_all

            upgrade()
            sync_all(db.session)
            db.session.commit()
            result = app.test_cli_runner().invoke(args=SEED_ARGS)
            assert result.exit_code == 0, result.output
            queries = build(db.session)
            db.session.remove()
            db.engine.dispose()
    OUT.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    kinds: dict[str, int] = {}
    for q in queries:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    print(f"{len(queries)} queries → {OUT}: {kinds}", file=sys.stderr)


if __name__ == "__main__":
    main()
