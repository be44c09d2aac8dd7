"""What a person typed, when it is an identifier: exact lookups and "did you mean" suggestions.

Kinds: a result number ("123/GPXD", or a bare "123"), a dossier code ("000.20.05.H26-190502-0007"),
a procedure code ("1.001193", also typed "1001193" or "1 001193"), a 12-digit personal id, a tax
code (10 digits, or 10-3 for a branch). Everything is compared on `ident_key` (folded, letters and
digits only), so spacing, case and punctuation never matter.

Privacy rules (the same for the pages and the API):
- A personal result is found only by its number *with notation* or its dossier code: a bare number
  would let anyone enumerate who holds which civil-status record. It is shown restricted.
- A 12-digit personal id is never searched publicly, not even sent to the engine (which may log
  queries): `classify` recognises it and the caller answers with a notice instead.
- A tax code finds the public results of an *organization* with that code; a personal tax code
  finds nothing, and the answer does not say whether it belongs to anyone.
- Suggestions reveal the corrected identifier, which is no more than typing it would reveal; so a
  personal result is suggested only on the paths an exact lookup would find it by (number with
  notation, dossier code), only from the whole key with one slip in it (a digit, two neighbours
  swapped), never from part of a key: a missing end, a missing front or leading zeros put back
  would each work as a wildcard over other people's results. It is shown like a restricted hit
  (type, unit, status).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import and_, func, select, union
from sqlalchemy.orm import Session

from portal.identity.models import Subject, SubjectKind
from portal.procedures.models import Procedure
from portal.records.models import Access, Record
from portal.records.queries import RecordHit, apply_filters, findable_by_number, row_options
from portal.text import fold, ident_key


class Kind(StrEnum):
    RESULT_NUMBER = "result_number"
    DOSSIER_CODE = "dossier_code"
    PROCEDURE_CODE = "procedure_code"
    PERSONAL_ID = "personal_id"
    TAX_CODE = "tax_code"


@dataclass(frozen=True)
class Identifier:
    kind: Kind
    #: `ident_key` of what was typed; for a procedure code, the canonical "D.DDDDDD".
    key: str


@dataclass(frozen=True)
class Suggestion:
    """A result whose identifier is one small slip away from what was typed."""

    #: The identifier as printed on the result: what the person probably meant.
    text: str
    kind: Kind
    #: "digit" (one digit wrong), "swap" (two neighbours swapped), "prefix" or "suffix" (a part missing).
    reason: str
    record: Record
    #: A personal result: show type, unit and status only, no link to the result.
    restricted: bool


#: Most suggestions a page shows; more would be a list, not a correction.
MAX_SUGGESTIONS = 5
#: Keys longer than this are not varied digit by digit (too many candidates to be a slip).
MAX_VARIED_LENGTH = 30
#: The leading part of a dossier code is an agency code of 7 digits and a province letter ("000.20.05.H26").
_AGENCY_DIGITS = 7
_ONLY_NUMERIC = re.compile(r"[\d\s.\-]+")
_PROCEDURE = re.compile(r"(\d)\s*[.\s]?\s*(\d{6})")
_TAX = re.compile(r"(\d{10})(?:\s*-\s*(\d{3}))?")
_DOSSIER = re.compile(r"\d{0,7}[a-z]\d{2}\d{6,10}")
_NUMBER = re.compile(r"\d+[a-z][a-z0-9]*")
#: Upper bound of an indexed prefix range: keys hold only [0-9a-z], so key + "z…" sorts after them all.
_TOP = "z" * 80


def classify(text: str) -> Identifier | None:
    """The kind of identifier typed, or None for words (a name, a place, a document type)."""
    raw = re.sub(r"\s+", " ", fold(text or "")).strip()
    key = ident_key(raw)
    if not key or not any(ch.isdigit() for ch in key):
        return None
    if _ONLY_NUMERIC.fullmatch(raw):
        if len(key) == 12:
            return Identifier(Kind.PERSONAL_ID, key)
        compact = raw.replace(" ", "")
        if _TAX.fullmatch(compact) or (len(key) == 13 and key.isdigit() and "." not in raw):
            return Identifier(Kind.TAX_CODE, key)
        match = _PROCEDURE.fullmatch(raw)
        if match:
            return Identifier(Kind.PROCEDURE_CODE, f"{match.group(1)}.{match.group(2)}")
    if _DOSSIER.fullmatch(key):
        return Identifier(Kind.DOSSIER_CODE, key)
    if key.isdigit() or _NUMBER.fullmatch(key):
        return Identifier(Kind.RESULT_NUMBER, key)
    return None


def is_private(identifier: Identifier | None) -> bool:
    """Typed identifiers that must never reach the engine, its logs or a public result list."""
    return identifier is not None and identifier.kind == Kind.PERSONAL_ID


#: "Did you mean" for a dossier code typed without more of its front looks among this many of the
#: newest results (by import order): a suffix cannot use an index.
SUFFIX_SCAN = 50_000
#: Results one identifier may match before the newest 200 are chosen (an enterprise's tax code on
#: its thousands of registrations): beyond it, 200 of the first found are shown, not the newest.
MAX_IDENTIFIER_IDS = 10_000


def exact_hits(session: Session, text: str, filters: Mapping[str, str], today: date) -> list[RecordHit]:
    """Results whose number or dossier code (or organization's tax code) is exactly what was typed."""
    identifier = classify(text)
    if is_private(identifier):
        return []
    key = ident_key(text)
    if len(key) < 2 or not any(ch.isdigit() for ch in key):  # identifiers carry digits; words don't
        return []
    # Each way of matching is its own indexed lookup, their ids gathered first: one OR of them, ordered
    # by date, made PostgreSQL walk the date index over every result at a million (4.5 s for "45").
    lookups = [select(Record.id).where(_number_match(key)), select(Record.id).where(Record.dossier_key == key)]
    if identifier is not None and identifier.kind == Kind.TAX_CODE:
        # Only an organization's tax code is public (business registers); never an individual's.
        organizations = select(Subject.id).where(Subject.kind == SubjectKind.ORGANIZATION,
                                                 Subject.id_number.in_(_tax_forms(key)))
        lookups.append(select(Record.id).where(Record.subject_id.in_(organizations),
                                               Record.access == Access.PUBLIC))
    ids = session.scalars(union(*lookups).limit(MAX_IDENTIFIER_IDS)).all()
    if not ids:
        return []
    query = (select(Record).where(Record.id.in_(ids))
             .options(*row_options()).order_by(Record.issued_date.desc(), Record.id))
    query = apply_filters(query, filters, today)
    return [RecordHit(record=r, restricted=r.access != Access.PUBLIC)
            for r in session.scalars(query.limit(200)).unique().all()]


def find_procedure(session: Session, text: str) -> Procedure | None:
    """The procedure whose national code was typed ("1.001193", "1001193", "1 001193")."""
    identifier = classify(text)
    if identifier is None or identifier.kind != Kind.PROCEDURE_CODE:
        return None
    return session.get(Procedure, identifier.key)


def single_match(hits: list[RecordHit]) -> Record | None:
    """The one result an identifier names (its `exact_hits`), when the person may open it
    (public); else None."""
    if len(hits) == 1 and not hits[0].restricted:
        return hits[0].record
    return None


def suggest(session: Session, text: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """Results one slip away from a typed result number or dossier code, closest first.

    Candidate keys are generated (each digit changed, each pair of neighbours swapped, zeros put
    back in front of a dossier code) and looked up with one IN query on the indexed key columns;
    a missing end part is an indexed prefix range. Only if that finds nothing, a dossier code
    missing more of its front is matched by suffix among the newest SUFFIX_SCAN results.
    """
    identifier = classify(text)
    if identifier is None or identifier.kind not in (Kind.RESULT_NUMBER, Kind.DOSSIER_CODE):
        return []
    key = identifier.key
    if len(key) < 3:
        return []
    found: dict[int, Suggestion] = {}

    def add(record: Record, kind: Kind, reason: str) -> None:
        if record.id in found or len(found) >= limit:
            return
        shown = record.number_display if kind == Kind.RESULT_NUMBER else record.dossier_code
        found[record.id] = Suggestion(text=shown, kind=kind, reason=reason, record=record,
                                      restricted=record.access != Access.PUBLIC)

    variants = _variants(key) if len(key) <= MAX_VARIED_LENGTH else {}
    # Leading zeros put back complete only part of what was typed: public results only.
    padded = {candidate: "prefix" for candidate in _zero_prefixed(key)
              if candidate not in variants} if identifier.kind == Kind.DOSSIER_CODE else {}
    if variants or padded:
        # Indexed lookups, ids first (an OR of them ordered by date walked the date index: 5 s at a
        # million results for "4512" on PostgreSQL).
        lookups = [select(Record.id).where(Record.number_key.in_(variants), _personal_needs_notation()),
                   select(Record.id).where(Record.dossier_key.in_(variants))]
        if padded:
            lookups.append(select(Record.id).where(Record.dossier_key.in_(padded),
                                                   Record.access == Access.PUBLIC))
        variants |= padded
        ids = session.scalars(union(*lookups).limit(MAX_IDENTIFIER_IDS)).all()
        query = (select(Record).where(Record.id.in_(ids))
                 .options(*row_options()).order_by(Record.issued_date.desc(), Record.id).limit(50))
        records = session.scalars(query).unique().all() if ids else []
        order = {"digit": 0, "swap": 0, "prefix": 1}
        for record in sorted(records, key=lambda r: order[variants.get(r.dossier_key or "")
                                                          or variants.get(r.number_key, "digit")]):
            if record.dossier_key in variants:
                add(record, Kind.DOSSIER_CODE, variants[record.dossier_key])
            else:
                add(record, Kind.RESULT_NUMBER, variants[record.number_key])

    # Typed without its end part ("123" for "123/GPXD"): public results only, since a prefix is a
    # wildcard that would list other people's personal results.
    column = Record.dossier_key if identifier.kind == Kind.DOSSIER_CODE else Record.number_key
    kind = identifier.kind
    if len(found) < limit:
        query = (select(Record).where(column > key, column <= key + _TOP, Record.access == Access.PUBLIC)
                 .options(*row_options()).order_by(func.length(column), column).limit(limit))
        for record in session.scalars(query).unique():
            add(record, kind, "suffix")
    if not found and identifier.kind == Kind.DOSSIER_CODE and len(key) >= 12:
        # A suffix has no index: look among the newest SUFFIX_SCAN results only (every result took
        # 5 s at a million on PostgreSQL, issue 12). Public ones only: the front is a wildcard.
        newest = (select(Record.id, Record.dossier_key).where(Record.access == Access.PUBLIC)
                  .order_by(Record.id.desc()).limit(SUFFIX_SCAN).subquery())
        ids = session.scalars(select(newest.c.id).where(newest.c.dossier_key.like(f"%{key}"),
                                                        newest.c.dossier_key != key)).all()
        query = (select(Record).where(Record.id.in_(ids))
                 .options(*row_options()).order_by(Record.issued_date.desc(), Record.id).limit(limit))
        for record in session.scalars(query).unique():
            add(record, Kind.DOSSIER_CODE, "prefix")
    return list(found.values())


def _number_match(key: str):
    return and_(Record.number_key == key, _personal_needs_notation())


def _personal_needs_notation():
    return findable_by_number()  # the rule lives in records.queries: the batch status check uses it too


def _tax_forms(key: str) -> list[str]:
    """A tax code as it may be stored: "0101234567001" is also written "0101234567-001"."""
    if len(key) == 13:
        return [key, f"{key[:10]}-{key[10:]}"]
    return [key]


def _variants(key: str) -> dict[str, str]:
    """Keys one slip away: each digit replaced by another, each pair of different neighbours swapped."""
    out: dict[str, str] = {}
    chars = list(key)
    for i, ch in enumerate(chars):
        if ch.isdigit():
            for digit in "0123456789":
                if digit != ch:
                    out.setdefault("".join(chars[:i] + [digit] + chars[i + 1:]), "digit")
    for i in range(len(chars) - 1):
        a, b = chars[i], chars[i + 1]
        if a != b and (a.isdigit() or b.isdigit()):
            out.setdefault("".join(chars[:i] + [b, a] + chars[i + 2:]), "swap")
    out.pop(key, None)
    return out


def _zero_prefixed(key: str) -> list[str]:
    """A dossier code typed without its leading "000." (or "000.00."): put the zeros back."""
    match = re.match(r"\d*", key)
    missing = _AGENCY_DIGITS - len(match.group(0))
    return ["0" * n + key for n in range(1, missing + 1)] if missing > 0 else []
