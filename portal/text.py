"""One folding function for every search backend: NFC, lowercase, strip marks, đ → d."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
#: Combining diacritical marks (U+0300-U+036F): every mark Vietnamese letters decompose into.
_VIETNAMESE_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]+")  # U+034F only joins: not a mark


def fold(text: str) -> str:
    """"Giấy phép Đăng ký" → "giay phep dang ky". NFC first: decomposed input must fold the same."""
    text = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    quick = _VIETNAMESE_MARKS.sub("", decomposed)  # in C: Vietnamese marks are all in this block
    if quick.isascii() or not any(unicodedata.combining(ch) for ch in set(quick) if not ch.isascii()):
        return quick  # what is left over is punctuation such as "·" or "…", not marks
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def ident_key(text: str) -> str:
    """An identifier in any spacing, case or punctuation: "123 / gpxd" → "123gpxd"."""
    return _NON_ALNUM.sub("", fold(text))
