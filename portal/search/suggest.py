"""Search as you type: a few completions from short lists, public holder names and identifiers.

Document types, procedure names and unit names (current, and old ones with their successors) are
small and change rarely: they are loaded once per process and kept for ``LIST_TTL`` seconds, then
matched in memory. Holder names come from the search engine (which holds them only for public
results); identifiers from the indexed key columns, public results only. Nothing here logs the query.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.procedures.models import Procedure
from portal.records.models import Access, Record
from portal.search.port import SearchQuery
from portal.text import fold, ident_key
from portal.units.models import AdminUnit, UnitLevel, UnitSystem

#: Fewer characters than this give no suggestions (one letter matches half the catalogue).
MIN_CHARS = 2
#: Suggestions returned; a longer list is read by nobody and costs a screen reader's patience.
LIMIT = 8
#: At most this many of one kind before the others get a turn (then the list is filled up).
PER_KIND = 3
#: Seconds a process keeps its lists of units, procedures and document types.
LIST_TTL = 600.0
#: Kinds in the order they are offered when they match equally well.
KINDS = ("identifier", "unit", "old_unit", "doc_type", "procedure", "holder")

_WORD = re.compile(r"[0-9a-z]+")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Entry:
    """One thing that can be suggested, with its folded words precomputed."""

    label: str
    kind: str
    words: tuple[str, ...]
    #: What the link needs: ("search", {"q": …}) or ("unit", {"system": …, "slug": …}).
    target: tuple[str, tuple[tuple[str, str], ...]]
    successors: tuple[tuple[str, bool], ...] = ()  # old units: (current name, partial)
    folded: str = field(default="", compare=False)


def _entry(label: str, kind: str, target: tuple[str, dict[str, str]],
           successors: Iterable[tuple[str, bool]] = ()) -> Entry:
    folded = fold(label)
    return Entry(label=label, kind=kind, words=tuple(_WORD.findall(folded)),
                 target=(target[0], tuple(sorted(target[1].items()))), successors=tuple(successors),
                 folded=folded)


def query_words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def matches(words: tuple[str, ...] | list[str], query: list[str]) -> bool:
    """Every query word is a word of the entry; the last one may be the start of a word."""
    if not query:
        return False
    *whole, last = query
    return all(w in words for w in whole) and any(w.startswith(last) for w in words)


# -- per-process lists ------------------------------------------------------------------------

class _Lists:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, list[Entry]]] = {}

    def get(self, key: str, load: Callable[[], list[Entry]]) -> list[Entry]:
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and now - cached[0] < LIST_TTL:
            return cached[1]
        with self._lock:  # one loader per process; the others wait for its result
            cached = self._entries.get(key)
            if cached is not None and now - cached[0] < LIST_TTL:
                return cached[1]
            entries = load()
            self._entries[key] = (time.monotonic(), entries)
            return entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_lists = _Lists()
clear_cache = _lists.clear


def _load_lists(session: Session) -> list[Entry]:
    entries: list[Entry] = []
    units = session.scalars(select(AdminUnit).where(AdminUnit.level != UnitLevel.PROVINCE)).all()
    for unit in units:
        if unit.system == UnitSystem.CURRENT:
            entries.append(_entry(unit.name, "unit", ("unit", {"system": unit.system, "slug": unit.slug})))
        else:
            links = sorted(unit.successor_links, key=lambda link: link.position)
            if [link.new_unit.name for link in links] == [unit.name]:
                continue  # kept its name: the current unit's entry says it all
            entries.append(_entry(unit.name, "old_unit", ("unit", {"system": unit.system, "slug": unit.slug}),
                                  [(link.new_unit.name, link.partial) for link in links]))
    types = set(session.scalars(select(Record.doc_type_name).distinct()))
    types.update(t for t in session.scalars(select(Procedure.result_doc_type).distinct()) if t)
    entries.extend(_entry(t, "doc_type", ("search", {"q": t})) for t in sorted(types))
    for code, name in session.execute(select(Procedure.code, Procedure.name)):
        entries.append(_entry(name, "procedure", ("search", {"q": name, "procedure": code})))
    return entries


def _list_key(session: Session) -> str:
    return str(session.get_bind().url)


# -- the sources ------------------------------------------------------------------------------

def _from_lists(session: Session, query: list[str], folded_query: str) -> list[Entry]:
    last = query[-1]
    found = [e for e in _lists.get(_list_key(session), lambda: _load_lists(session))
             if last in e.folded and matches(e.words, query)]
    found.sort(key=lambda e: (not e.folded.startswith(folded_query), KINDS.index(e.kind), len(e.label)))
    return found


def _holders(search, text: str, query: list[str]) -> list[Entry]:
    """Holder names from the engine: it indexes names of public results only; filter on access anyway."""
    per_page = LIMIT
    if len(query[-1]) < MIN_CHARS:  # the engine takes a prefix of 2+ letters: look wider, filter here
        text, per_page = " ".join(query[:-1]), 50
    page = search.search(SearchQuery(text=text, filters={"access": Access.PUBLIC.value}, per_page=per_page))
    out: dict[str, Entry] = {}
    for hit in page.hits:
        marked = (hit.highlights or {}).get("holder")
        if not marked:
            continue
        for name in html.unescape(_TAG.sub("", marked)).split(" · "):
            key = fold(name)
            if key not in out and matches(tuple(_WORD.findall(key)), query):
                out[key] = _entry(name, "holder", ("search", {"q": name}))
    return list(out.values())


def _identifiers(session: Session, text: str) -> list[Entry]:
    """Result numbers and dossier codes starting with what was typed, public results only."""
    key = ident_key(text)
    if len(key) < MIN_CHARS or not any(ch.isdigit() for ch in key):
        return []
    upper = key + "z" * 20  # keys hold only [0-9a-z]: an index range instead of LIKE 'key%'
    # One range scan per key, each stopping after LIMIT rows: an OR of the two made PostgreSQL walk
    # the whole number index in order at a million results (8.4 s for "45", issue 12).
    rows = []
    for column in (Record.number_key, Record.dossier_key):
        rows += session.execute(
            select(Record.doc_number, Record.doc_notation, Record.dossier_code, Record.number_key)
            .where(Record.access == Access.PUBLIC.value, column.between(key, upper))
            .order_by(column).limit(LIMIT)).all()
    out: dict[str, Entry] = {}
    for number, notation, dossier, number_key in rows:
        if number_key.startswith(key):
            label = f"{number}/{notation}" if notation else number
        else:
            label = dossier or ""
        if label and label not in out:
            out[label] = _entry(label, "identifier", ("search", {"q": label}))
    return list(out.values())


# -- putting it together ----------------------------------------------------------------------

def _pick(groups: list[list[Entry]]) -> list[Entry]:
    """Up to PER_KIND of each kind in order, then fill up to LIMIT in the same order."""
    chosen: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for cap in (PER_KIND, LIMIT):
        for group in groups:
            taken = sum(1 for e in chosen if e.kind == group[0].kind) if group else 0
            for entry in group:
                if len(chosen) >= LIMIT or taken >= cap:
                    break
                if (entry.kind, entry.folded) in seen:
                    continue
                seen.add((entry.kind, entry.folded))
                chosen.append(entry)
                taken += 1
    return chosen


def _label(entry: Entry) -> str:
    if entry.kind != "old_unit" or not entry.successors:
        return entry.label
    names = ", ".join(_("%(name)s (part)", name=name) if partial else name
                      for name, partial in entry.successors)
    return _("%(old)s, now %(new)s", old=entry.label, new=names)


def _url(entry: Entry) -> str:
    kind, params = entry.target
    args = dict(params)
    if kind == "unit":
        if args["system"] == UnitSystem.CURRENT:
            return url_for("units.detail", slug=args["slug"])
        return url_for("units.legacy", slug=args["slug"])
    return url_for("records.search", **args)


def suggest(session: Session, search, text: str) -> list[dict[str, str]]:
    """Up to LIMIT suggestions for a half-typed query: [{label, kind, url}], best first.

    A failing engine costs only the holder names: the other kinds come from the database.
    """
    text = text.strip()[:100]
    folded = " ".join(query_words(text))
    query = folded.split()
    if len(folded.replace(" ", "")) < MIN_CHARS or not query:
        return []
    listed = _from_lists(session, query, folded)
    by_kind: dict[str, list[Entry]] = {kind: [] for kind in KINDS}
    for entry in listed:
        by_kind[entry.kind].append(entry)
    by_kind["identifier"] = _identifiers(session, text)
    try:
        by_kind["holder"] = _holders(search, text, query) if search is not None else []
    except Exception:  # noqa: BLE001 - engine down or index missing: suggest the rest
        by_kind["holder"] = []
    # A label that starts with what was typed beats a word match further in, whatever its kind.
    groups = [by_kind[kind] for kind in KINDS if by_kind[kind]]
    groups.sort(key=lambda g: not g[0].folded.startswith(folded))
    return [{"label": _label(e), "kind": e.kind, "url": _url(e)} for e in _pick(groups)]
