"""Our matching rules in Python, and highlights that follow them: backend-neutral.

The embedded adapter highlights its hits with them (tantivy has no highlighter that knows our typo
and prefix rules), the service the hits of its database fallback. Meilisearch highlights on the
server, by the same rules (docs/search.md "Matching rules"). Words are folded by `text.fold()`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from collections.abc import Mapping
from typing import Any

from portal.search.port import TEXT_FIELDS
from portal.text import fold

#: Folded words shorter than this must match exactly (Vietnamese syllables are short: see DECISIONS).
MIN_FUZZY_LEN = 4
#: A highlighted summary is cut to about this many characters around its first match.
SNIPPET_CHARS = 220

_WORD = re.compile(r"[^\W_]+")
#: Fields cut to a snippet around the first match: the summary, and the text read off the scan.
_LONG_FIELDS = ("summary", "scan")


def query_words(text: str) -> list[str]:
    """Folded words of a query, the way the index analyzer cuts documents."""
    return _WORD.findall(fold(text))


def texts(value: Any) -> list[str]:
    """A document field's value as a list of non-empty strings (fields hold a string or a list)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def _within_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance ≤ 1 (one insertion, deletion, substitution or swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        if len(diff) != 2 or diff[1] != diff[0] + 1:
            return False
        return a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


def word_matches(token: str, word: str, last: bool) -> bool:
    """Whether a folded document word matches a folded query word by our rules."""
    if token == word:
        return True
    if last and len(word) >= 2 and token.startswith(word):
        return True
    if len(word) >= MIN_FUZZY_LEN:
        if _within_one(token, word):
            return True
        if last:
            return any(_within_one(token[:k], word) for k in (len(word) - 1, len(word), len(word) + 1)
                       if 0 < k <= len(token))
    return False


class Matcher:
    """Decides, once per distinct folded document word, whether it matches any query word.

    One matcher serves a whole page of hits; the decision for a (token, query word) pair is also
    remembered across requests (`_pair_matches`): a city's documents share a few thousand
    syllables, so after warm-up almost every decision is a dictionary lookup.
    """

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.exact = set(words)
        self.last = words[-1] if words else ""
        self.cache: dict[str, bool] = {}

    def __call__(self, raw: str) -> bool:
        """Whether a document word, as written, matches."""
        return self.folded(fold(raw))

    def folded(self, token: str) -> bool:
        """Whether an already folded document word matches."""
        hit = self.cache.get(token)
        if hit is None:
            hit = token in self.exact or any(
                _pair_matches(token, word, word == self.last) for word in self.words
                if abs(len(token) - len(word)) <= 1 or (word == self.last and len(token) > len(word)))
            self.cache[token] = hit
        return hit


@lru_cache(maxsize=50_000)  # ~10 MB at most; a city has a few thousand syllables
def _pair_matches(token: str, word: str, last: bool) -> bool:
    return word_matches(token, word, last)


def _spans(text: str, matcher: Matcher) -> list[tuple[int, int]]:
    """Where the matching words of ``text`` (NFC) are: the text is folded once, not word by word."""
    folded = fold(text)
    if len(folded) != len(text):  # a fold that changed lengths: positions differ, go word by word
        return [m.span() for m in _WORD.finditer(text) if matcher(m.group())]
    matching = {token for token in set(_WORD.findall(folded)) if matcher.folded(token)}
    if not matching:  # most fields of most hits: decided on their distinct words alone
        return []
    return [m.span() for m in _WORD.finditer(folded) if m.group() in matching]


def _best_anchor(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """Where the snippet of a long text centres: the match followed, within ``width`` characters,
    by the most distinct matching words (a scan's page repeats common words long before the rare
    ones a person typed); the first such match on a tie."""
    tokens = [fold(text[s:e]) for s, e in spans]
    best, best_count, end = spans[0][0], 0, 0
    window: dict[str, int] = {}
    for index, (start, _stop) in enumerate(spans):
        while end < len(spans) and spans[end][1] <= start + width:
            window[tokens[end]] = window.get(tokens[end], 0) + 1
            end += 1
        if len(window) > best_count:
            best, best_count = start, len(window)
        if end > index:  # this match leaves the window before the next one is looked at
            window[tokens[index]] -= 1
            if not window[tokens[index]]:
                del window[tokens[index]]
    return best


def highlight(text: str, words: list[str] | Matcher, max_chars: int | None = None) -> str | None:
    """HTML-escaped ``text`` with <mark> around matching words, original diacritics kept.

    None when nothing matches. A long text is cut to about ``max_chars`` around the first match.
    """
    matcher = words if isinstance(words, Matcher) else Matcher(words)
    if not text or not matcher.words:
        return None
    text = unicodedata.normalize("NFC", text)
    spans = _spans(text, matcher)
    if not spans:
        return None
    start, end = 0, len(text)
    if max_chars and len(text) > max_chars:
        start = max(0, _best_anchor(text, spans, max_chars * 3 // 4) - max_chars // 4)
        end = min(len(text), start + max_chars)
        # whole words only
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
    out = ["…" if start > 0 else ""]
    cursor = start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(html.escape(text[cursor:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        cursor = e
    out.append(html.escape(text[cursor:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


def highlight_fields(doc: Mapping[str, Any], words: list[str] | Matcher) -> dict[str, str]:
    """field → highlighted text for each text field that matched (lists joined with " · ")."""
    words = words if isinstance(words, Matcher) else Matcher(words)
    out = {}
    for field in TEXT_FIELDS:
        values = texts(doc.get(field))
        if not values:
            continue
        marked = highlight(" · ".join(values), words, SNIPPET_CHARS if field in _LONG_FIELDS else None)
        if marked is not None:
            out[field] = marked
    return out
