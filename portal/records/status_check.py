"""The status of many results at once (a bank's back office checking the permits it holds).

Each item is a result number as a person types it ("123/GPXD", "123 / gpxd", "123-GPXD": compared on
`ident_key`) or a source id; a number may match several results (different units). A merged result
answers as the one it was merged into. A personal result counts only for a key with the
``personal:read`` scope, and then its read is written to its holder's access log.

The cost does not grow with the number of items: one query for the source ids, one for the numbers
(each with one more for the units' successors), one per hop of merged results (usually none); only
the access-log entries of personal results read are one each (the audit chain appends one by one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload, load_only

from portal.api_keys.models import ApiKey
from portal.records.access_log import record_access
from portal.records.models import Access, Record
from portal.records.queries import findable_by_number
from portal.text import ident_key
from portal.units.models import AdminUnit

#: Items one request may carry: what a back office sends at once, and what bounds one request's cost.
MAX_ITEMS = 100
#: Longest item accepted (a source id is at most 120 characters, a number with notation about 40).
MAX_ITEM_LENGTH = 200
#: Results one item may answer (a number shared by several units); the newest first beyond that.
MAX_MATCHES = 20
#: Merged into a merged one: hops followed before giving up (staff merge into a kept one, so 1).
MAX_MERGE_HOPS = 3
#: The scope that lets a key see personal results (and have its reads logged for their holders).
PERSONAL_SCOPE = "personal:read"


@dataclass(frozen=True)
class ItemStatus:
    """What one item matched: the kept results it names that the key may see, newest first."""

    item: str
    matches: list[Record]

    @property
    def found(self) -> bool:
        return bool(self.matches)


#: The columns an answer, the merge and the access log read: a number shared by many units loads
#: hundreds of rows, and the archive and digitization fields would double the time spent on them.
_COLUMNS = (Record.source_id, Record.doc_number, Record.doc_notation, Record.doc_type_name, Record.status,
            Record.valid_from, Record.valid_to, Record.issued_date, Record.access, Record.subject_id,
            Record.number_key, Record.issuing_unit_id, Record.merged_into_id)


def _options() -> tuple:
    # The unit and its successors (with their new unit, joined) are all an answer shows: no files,
    # no holder, no procedure.
    return (load_only(*_COLUMNS), joinedload(Record.issuing_unit).selectinload(AdminUnit.successor_links),
            lazyload(Record.files), lazyload(Record.subject), lazyload(Record.procedure))


def check(session: Session, items: Sequence[str], key: ApiKey, *,
          never_a_number: Callable[[str], bool] = lambda item: False) -> list[ItemStatus]:
    """One `ItemStatus` per item, in order. ``never_a_number``: items not to look up as a number
    (a personal id typed by mistake: never searched). Logs the personal results ``key`` reads;
    flushes, never commits."""
    source_ids = {item.strip() for item in items if item.strip()}
    number_keys = {item: ident_key(item) for item in items if not never_a_number(item)}
    # A number carries a digit. Unlike the search box, a bare "3" is looked up: an exact key, not a
    # wildcard, and a bare number never finds a personal result (findable_by_number).
    number_keys = {item: k for item, k in number_keys.items() if any(c.isdigit() for c in k)}
    by_source_id = {r.source_id: r for r in session.scalars(
        select(Record).where(Record.source_id.in_(source_ids)).options(*_options())).unique()} \
        if source_ids else {}
    by_number: dict[str, list[Record]] = {}
    if number_keys:
        query = (select(Record).where(Record.number_key.in_(set(number_keys.values())), findable_by_number())
                 .options(*_options()).order_by(Record.issued_date.desc(), Record.id)
                 .limit(MAX_MATCHES * MAX_ITEMS))
        for record in session.scalars(query).unique():
            by_number.setdefault(record.number_key, []).append(record)
    kept = _kept(session, [*by_source_id.values(), *(r for rs in by_number.values() for r in rs)])
    personal = PERSONAL_SCOPE in key.scopes
    answers, logged = [], set()
    for item in items:
        found = [by_source_id[item.strip()]] if item.strip() in by_source_id else []
        found += by_number.get(number_keys.get(item, ""), [])
        matches: dict[int, Record] = {}
        for record in found:
            record = kept.get(record.id, record)
            if record.merged_into_id is None and (record.access == Access.PUBLIC or personal):
                matches.setdefault(record.id, record)
        ordered = sorted(matches.values(), key=lambda r: (-r.issued_date.toordinal(), r.id))[:MAX_MATCHES]
        for record in ordered:
            if record.access != Access.PUBLIC and record.id not in logged:
                logged.add(record.id)
                record_access(session, key, record, "record.status_check", channel="api",
                              details={"item": item[:MAX_ITEM_LENGTH]})
        answers.append(ItemStatus(item=item, matches=ordered))
    return answers


def _kept(session: Session, records: list[Record]) -> dict[int, Record]:
    """Merged result id → the result it was merged into (followed to the end), loaded in one query
    per hop."""
    loaded = {r.id: r for r in records}
    for _ in range(MAX_MERGE_HOPS):
        wanted = {r.merged_into_id for r in loaded.values() if r.merged_into_id is not None} - set(loaded)
        if not wanted:
            break
        loaded.update((r.id, r) for r in session.scalars(
            select(Record).where(Record.id.in_(wanted)).options(*_options())).unique())
    kept = {}
    for record in records:
        target, hops = record, 0
        while target.merged_into_id is not None and target.merged_into_id in loaded and hops < MAX_MERGE_HOPS:
            target, hops = loaded[target.merged_into_id], hops + 1
        if target is not record:
            kept[record.id] = target
    return kept
