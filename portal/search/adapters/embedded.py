"""Embedded search on tantivy: an index on local disk, no server to run.

Layout of SEARCH_INDEX_DIR::

    current -> gen-20251103T101500-1234     symlink swapped atomically by a rebuild
    gen-20251103T101500-1234/               a complete tantivy index

Readers resolve ``current`` on every search (one readlink) and reopen when it moved, so a
rebuild goes live in every process without a restart. The index is opened lazily, per process:
an index opened before gunicorn forks leaves workers blind to new commits.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tantivy

from portal.search.highlighting import MIN_FUZZY_LEN, Matcher, highlight_fields, query_words, texts
from portal.search.port import (
    FACET_SIZE,
    FACETS,
    FILTER_FIELDS,
    FILTERS,
    MAX_HITS,
    SORTS,
    TEXT_FIELDS,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
)

log = logging.getLogger(__name__)

#: Field → boost, in the port's order of TEXT_FIELDS (strongest first): an identifier or a holder's
#: name outweighs the title, which outweighs the rest. The scan text (0) matches through the
#: catch-all field alone, with no clause of its own: a word found only there scores below a word
#: found in any other field, and its long postings are not read a second time for every word.
BOOSTS = dict(zip(TEXT_FIELDS, (6.0, 5.0, 3.0, 1.5, 1.0, 1.0, 0.0), strict=True))
#: A fuzzy match scores this fraction of the field boost; exact matches add BM25 on top of it.
FUZZY_WEIGHT = 0.3
#: Typo matches are looked for only when the exact words (the last one as a prefix) find fewer
#: hits than this. Fuzzy automatons over common syllables are what a search pays for at a million
#: documents (each expands to many terms and reads all their postings); when exact matches fill
#: the first page, typo matches would rank below them anyway (exact scores higher, see _word_query).
TYPO_FALLBACK_BELOW = 20
#: The last word, typed halfway, stands for at most this many of its completions, the most
#: frequent first (term queries intersect cheaply; a prefix automaton reads every posting).
#: 16, not 64 (issue 12): at a million results prefix searches p95 56 -> 30 ms (load 6-8), the
#: relevance set unchanged (99.8 % / 99.6 % in the top 3) and the same 28 % of cut queries found.
PREFIX_TERMS = 16
#: A word found in more documents than this share (and at least COMMON_MIN_DOCS) is "common":
#: it must match, scored by BM25 on the catch-all field alone, with no per-field boosts and no
#: typo expansion (a word that frequent is spelt right). Per-field boosts are unions of six
#: posting lists per word, and for words like *giay*, *phep*, *nguyen* those unions read most of
#: the index; rare words (names, streets, numbers) carry the field boosts and decide the order.
COMMON_SHARE = 0.02
COMMON_MIN_DOCS = 2_000
#: Two query words found side by side, in order, add this (× 2, like the field boosts): a phrase
#: typed as a phrase ("tran duy hung") beats the same words scattered over the document.
PHRASE_BOOST = 2.0
ANALYZER = "vi_fold"
ALL = "all_text"
CURRENT = "current"

def _analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold()).build())


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("digest", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name=ANALYZER)
    # Every text field again, for typo and prefix matching: one automaton per word instead of six.
    builder.add_text_field(ALL, stored=False, tokenizer_name=ANALYZER)
    for name in FILTER_FIELDS:
        # fast: facet counts are a terms aggregation over the column, not a stored-field scan.
        builder.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    builder.add_text_field("issued_date", stored=True, tokenizer_name="raw", fast=True)
    # Date sorts order by this integer column (20190514): a text column took 3 s at offset 100,000.
    builder.add_integer_field("issued_day", stored=False, indexed=False, fast=True)
    return builder.build()


class EmbeddedBackend:
    """The tantivy adapter. Raises SearchUnavailable when the index is missing or unreadable."""

    def __init__(self, root: str | os.PathLike[str], writer_heap: int = 50_000_000) -> None:
        self.root = Path(root)
        self.writer_heap = writer_heap
        self.schema = _schema()
        self._lock = threading.RLock()
        self._pid: int | None = None
        self._index: tantivy.Index | None = None
        self._opened: str | None = None  # generation the open index belongs to

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EmbeddedBackend:
        # Opens nothing: each process opens the index on first use (see the module docstring).
        return cls(config["SEARCH_INDEX_DIR"])

    # -- opening ---------------------------------------------------------------------------

    def _live_generation(self) -> str | None:
        # A rebuild in another process may swap `current` and delete the generation read here
        # before its meta.json is looked at: read the link again then, or a writer would take the
        # index for missing and start an empty one (`_ensure_live`).
        for _ in range(2):
            try:
                target = os.readlink(self.root / CURRENT)
            except OSError:
                return None
            if (self.root / target / "meta.json").exists():
                return target
        return None

    def _open_generation(self, generation: str) -> tantivy.Index:
        index = tantivy.Index(self.schema, path=str(self.root / generation), reuse=True)
        index.register_tokenizer(ANALYZER, _analyzer())
        return index

    def _live_index(self) -> tantivy.Index:
        """The index ``current`` points to, reopened after a fork or a swap; reloaded on each call."""
        generation = self._live_generation()
        if generation is None:
            raise SearchUnavailable(f"no search index at {self.root}; run `flask search reindex`")
        with self._lock:
            if self._pid != os.getpid() or self._opened != generation or self._index is None:
                try:
                    self._index = self._open_generation(generation)
                except (OSError, ValueError) as error:
                    self._index = None
                    raise SearchUnavailable(f"search index at {self.root} unreadable: {error}") from error
                self._pid, self._opened = os.getpid(), generation
            index = self._index
        try:
            index.reload()
        except (OSError, ValueError) as error:
            raise SearchUnavailable(f"search index at {self.root} unreadable: {error}") from error
        return index

    def _new_generation(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"gen-{stamp}-{os.getpid()}"
        (self.root / name).mkdir(parents=True)
        self._open_generation(name)  # creates the empty index
        return name

    def _point_current_to(self, generation: str) -> None:
        """Atomic: readers see the old generation or the new one, never nothing."""
        tmp = self.root / f".current-{os.getpid()}-{threading.get_ident()}"
        tmp.unlink(missing_ok=True)
        os.symlink(generation, tmp)
        os.replace(tmp, self.root / CURRENT)

    def _ensure_live(self) -> str:
        """The writable live generation, created empty on first use (indexing path only)."""
        self.root.mkdir(parents=True, exist_ok=True)
        generation = self._live_generation()
        if generation is None:
            generation = self._new_generation()
            self._point_current_to(generation)
        return generation

    @contextmanager
    def _writer(self, index: tantivy.Index, heap: int | None = None, threads: int = 1,
                wait: float = 30.0) -> Iterator[tantivy.IndexWriter]:
        """The single writer: another process holding it (a drain, a rebuild) is waited for."""
        deadline = time.monotonic() + wait
        while True:
            try:
                writer = index.writer(heap or self.writer_heap, threads)
                break
            except ValueError as error:
                if "LockBusy" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            yield writer
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()  # releases the lock
        index.reload()

    def _write_index(self) -> tantivy.Index:
        generation = self._ensure_live()
        with self._lock:
            if self._pid != os.getpid() or self._opened != generation or self._index is None:
                self._index = self._open_generation(generation)
                self._pid, self._opened = os.getpid(), generation
            return self._index

    # -- writing ---------------------------------------------------------------------------

    def _document(self, doc: Mapping[str, Any]) -> tantivy.Document:
        out = tantivy.Document()
        out.add_text("id", str(doc["id"]))
        out.add_text("digest", str(doc.get("digest", "")))
        for name in TEXT_FIELDS + FILTER_FIELDS:
            for value in texts(doc.get(name)):
                # NFC: the analyzer folds precomposed letters; decomposed marks would split words.
                value = unicodedata.normalize("NFC", value)
                out.add_text(name, value)
                if name in BOOSTS:
                    out.add_text(ALL, value)
        if doc.get("issued_date"):
            out.add_text("issued_date", str(doc["issued_date"]))
            out.add_integer("issued_day", int(str(doc["issued_date"]).replace("-", "")[:8]))
        return out

    def upsert(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """Add or replace documents by id; returns once they are searchable."""
        docs = list(documents)
        if not docs:
            return
        index = self._write_index()
        with self._writer(index) as writer:
            for doc in docs:
                writer.delete_documents_by_term("id", str(doc["id"]))
                writer.add_document(self._document(doc))

    def remove(self, record_ids: Iterable[str]) -> None:
        ids = [str(i) for i in record_ids]
        if not ids or self._live_generation() is None:
            return
        index = self._write_index()
        with self._writer(index) as writer:
            for record_id in ids:
                writer.delete_documents_by_term("id", record_id)

    def clear(self) -> None:
        if self._live_generation() is None:
            return
        index = self._write_index()
        with self._writer(index) as writer:
            writer.delete_all_documents()

    def rebuild(self, documents: Iterable[Mapping[str, Any]],
                progress: Callable[[int], None] | None = None) -> int:
        """Build a complete new generation beside the live one, then swap it in atomically.

        Searches keep answering from the old generation until the swap. Returns the count.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        old = self._live_generation()
        generation = self._new_generation()
        index = self._open_generation(generation)
        count = 0
        try:
            with self._writer(index, heap=max(self.writer_heap, 200_000_000), threads=0) as writer:
                for doc in documents:
                    writer.add_document(self._document(doc))
                    count += 1
                    if progress is not None and count % 1000 == 0:
                        progress(count)
        except BaseException:
            shutil.rmtree(self.root / generation, ignore_errors=True)
            raise
        if progress is not None:
            progress(count)
        self._point_current_to(generation)
        self._remove_generations(keep={generation})
        log.info("search index rebuilt: %s documents in %s (was %s)", count, generation, old)
        return count

    def _remove_generations(self, keep: set[str]) -> None:
        # Open readers elsewhere keep their mmapped files until they reopen (POSIX unlink semantics).
        for path in self.root.glob("gen-*"):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------

    def count(self) -> int:
        return self._live_index().searcher().num_docs

    def fingerprints(self) -> dict[str, str]:
        """id → digest of every indexed document (for `search check`)."""
        searcher = self._live_index().searcher()
        total = searcher.num_docs
        if not total:
            return {}
        result = searcher.search(tantivy.Query.all_query(), limit=total, count=False)
        out = {}
        for _score, address in result.hits:
            doc = searcher.doc(address)
            out[doc.get_first("id")] = doc.get_first("digest") or ""
        return out

    def search(self, query: SearchQuery) -> SearchPage:
        """Every word must match (in any field); boosted fields, fuzzy and prefix as documented."""
        index = self._live_index()
        words = query_words(query.text)
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for name, value in (query.filters or {}).items():
            field = FILTERS.get(name)
            if field is None:
                raise ValueError(f"unknown search filter {name!r}")
            if value in (None, ""):
                continue
            term = tantivy.Query.term_query(self.schema, field, str(value))
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(term, 0.0)))
        if query.sort not in SORTS:
            raise ValueError(f"unknown sort {query.sort!r}")
        unknown = set(query.facets) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown facets {sorted(unknown)}")
        if not clauses and not words:
            return SearchPage(total=0, hits=[], page=query.page, per_page=query.per_page)
        if not words:  # filters only: everything that passes them, newest first
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        for record_id in query.exclude:
            excluded = tantivy.Query.term_query(self.schema, "id", str(record_id))
            clauses.append((tantivy.Occur.MustNot, excluded))
        searcher = index.searcher()
        common = self._common_words(searcher, words)
        clauses += self._phrase_clauses(words, common)
        # Never past MAX_HITS: top-k with an offset costs offset + limit, whatever the engine.
        offset = min(query.start, MAX_HITS)
        limit = max(0, min(query.per_page, MAX_HITS - offset))
        by_date = query.sort != "relevance" or not words

        def run(word_clauses):
            tquery = tantivy.Query.boolean_query(word_clauses + clauses)
            if limit == 0:
                return tquery, searcher.search(tquery, limit=1, count=True), []
            if by_date:
                order = tantivy.Order.Asc if query.sort == "oldest" else tantivy.Order.Desc
                result = searcher.search(tquery, limit=limit, count=True, offset=offset,
                                         order_by_field="issued_day", order=order)
            else:
                result = searcher.search(tquery, limit=limit, count=True, offset=offset)
            return tquery, result, result.hits

        # Exact words first; typo matches join only when those are few (TYPO_FALLBACK_BELOW). The
        # choice depends on the query and filters alone, so every page of a search agrees on it.
        tquery, result, found = run([(tantivy.Occur.Must,
                                      self._word_query(searcher, word, last, word in common, fuzzy=False))
                                     for word, last in _positions(words)])
        # The typo is looked for in the long words that are not common: a word found in 2 % of the
        # documents is spelt right. Only when nothing at all matched is every long word suspected
        # ("chua" typed for "chau"): typo automatons over common words cost 3-4 × the search.
        # A short last word is looked for among all its completions, not only the most frequent.
        suspects = {w for w in words if w not in common and len(w) >= MIN_FUZZY_LEN}
        if words and not suspects and not result.count:
            suspects = set(words)
        if words and 2 <= len(words[-1]) < MIN_FUZZY_LEN:
            suspects.add(words[-1])
        if suspects and (result.count or 0) < TYPO_FALLBACK_BELOW:
            tquery, result, found = run([(tantivy.Occur.Must, self._word_query(
                searcher, word, last, word in common, fuzzy=word in suspects))
                for word, last in _positions(words)])
        hits = []
        matcher = Matcher(words)  # one cache of matching words for the whole page
        for score, address in found:
            doc = searcher.doc(address)
            hits.append(SearchHit(id=doc.get_first("id"), score=0.0 if by_date else float(score),
                                  highlights=highlight_fields(doc.to_dict(), matcher)))
        facets = self._facets(searcher, tquery, query.facets) if query.facets else {}
        return SearchPage(total=result.count or 0, hits=hits, page=query.page, per_page=query.per_page,
                          facets=facets)

    def _common_words(self, searcher: tantivy.Searcher, words: list[str]) -> set[str]:
        cutoff = max(COMMON_MIN_DOCS, COMMON_SHARE * searcher.num_docs)
        return {word for word in set(words) if searcher.doc_freq(ALL, word) > cutoff}

    def _phrase_clauses(self, words: list[str], common: set[str]) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """Optional score for each pair of adjacent query words found adjacent, in order.

        On the catch-all field, exact words only: a typo'd pair still matches, it just loses the bonus.
        Not for a pair of common words ("giay phep"): nearly every document has it, and checking
        positions in all of them costs more than the rest of the search.
        """
        out = []
        for first, second in zip(words, words[1:], strict=False):
            if first in common and second in common:
                continue
            phrase = tantivy.Query.phrase_query(self.schema, ALL, [first, second])
            out.append((tantivy.Occur.Should, tantivy.Query.boost_query(phrase, PHRASE_BOOST * 2)))
        return out

    def _facets(self, searcher: tantivy.Searcher, tquery: tantivy.Query,
                names: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
        """Counts per value over every hit (a terms aggregation on the fast filter columns)."""
        spec = {name: {"terms": {"field": name, "size": FACET_SIZE, "order": {"_count": "desc"}}}
                for name in names}
        result = searcher.aggregate(tquery, spec)
        out = {}
        for name in spec:
            buckets = result.get(name, {}).get("buckets", [])
            pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets if b.get("doc_count")]
            out[name] = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
        return out

    def _field_terms(self, word: str) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """The word in each text field, scored by BM25 times the field's boost."""
        return [(tantivy.Occur.Should,
                 tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, field, word), boost * 2))
                for field, boost in BOOSTS.items() if boost]

    def _word_query(self, searcher: tantivy.Searcher, word: str, last: bool, common: bool,
                    fuzzy: bool) -> tantivy.Query:
        """One query word, in any field: exact (BM25, boosted per field), else a completion or a typo.

        The last word also matches as a prefix: as its PREFIX_TERMS most frequent completions
        (term queries, cheap to intersect), or with ``fuzzy`` as an automaton over every completion.
        With ``fuzzy`` (the word may hold the typo), a word of MIN_FUZZY_LEN letters or more also
        matches at distance 1. Completions and typos score a small constant, below any exact match.
        A common word is scored on the catch-all field and the holder only (see COMMON_SHARE).
        """
        schema = self.schema
        exact = tantivy.Query.term_query(schema, ALL, word)
        loose: list[tantivy.Query] = []
        if last and len(word) >= 2:
            if fuzzy:
                loose.append(tantivy.Query.fuzzy_term_query(schema, ALL, word, distance=0, prefix=True))
            else:
                loose += [tantivy.Query.term_query(schema, ALL, term) for term, _count
                          in searcher.terms_with_prefix(ALL, word, limit=PREFIX_TERMS) if term != word]
        if fuzzy and len(word) >= MIN_FUZZY_LEN:
            loose.append(tantivy.Query.fuzzy_term_query(schema, ALL, word, distance=1, prefix=last))
        scored_loose = [(tantivy.Occur.Should, tantivy.Query.const_score_query(query, FUZZY_WEIGHT))
                        for query in loose]
        if common:
            # The holder's name alone keeps its boost: one optional posting list is followed with
            # cheap seeks (two or more become a buffered union that reads them all), and a common
            # surname or given name in the holder field is what tells "Nguyễn Thu Hà" apart.
            holder = (tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(schema, "holder", word), BOOSTS["holder"] * 2))
            if not loose:
                return tantivy.Query.boolean_query([(tantivy.Occur.Must, exact), holder])
            match = tantivy.Query.boolean_query([(tantivy.Occur.Should, exact), *scored_loose])
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, match), holder])
        match = tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in (exact, *loose)]) \
            if loose else exact
        must = (tantivy.Occur.Must, tantivy.Query.const_score_query(match, 0.0))
        return tantivy.Query.boolean_query([must, *self._field_terms(word), *scored_loose])


def _positions(words: list[str]) -> list[tuple[str, bool]]:
    """Each word with whether it is the last one (the one still being typed)."""
    return [(word, position == len(words) - 1) for position, word in enumerate(words)]
