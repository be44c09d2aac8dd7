"""One folding function for every search backend: NFC, lowercase, strip marks, đ → d."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """"Giấy phép Đăng ký" → "giay phep dang ky". NFC first: decomposed input must fold the same."""
    text = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def ident_key(text: str) -> str:
    """An identifier in any spacing, case or punctuation: "123 / gpxd" → "123gpxd"."""
    return _NON_ALNUM.sub("", fold(text))
