"""fold(): the one folding rule of every search backend, and its fast path for Vietnamese text."""

from __future__ import annotations

import random
import unicodedata

from portal.text import fold, ident_key


def plain_rule(text: str) -> str:
    """The rule as the docstring says it: NFC, lower case, đ → d, every combining mark removed."""
    text = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def test_vietnamese_folds_to_plain_letters():
    assert fold("Giấy phép Xây dựng · Phường Đống Đa…") == "giay phep xay dung · phuong dong da…"
    assert fold("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT") == "giay chung nhan quyen su dung dat"
    assert fold(unicodedata.normalize("NFD", "Nguyễn Thị Ánh")) == "nguyen thi anh"  # decomposed input
    assert ident_key("123 / GPXD-ĐT") == "123gpxddt"


def test_the_fast_path_gives_exactly_the_plain_rule():
    """The fast path strips marks with one regex: any text, whatever its script, folds as before."""
    rng = random.Random(12)
    letters = ("Giấy phép xây dựng Đăng ký · … “” – Phường Cầu Giấy ß İ Ǆ ΆΈ ﬁ e\u0301 ẞ \u0483 \u05b0 "
               "\u0e31 अ\u093f \u034f")
    samples = ["".join(rng.choice(letters) for _ in range(12)) for _ in range(20_000)]
    samples += ["".join(chr(rng.randint(0x20, 0x3000)) for _ in range(8)) for _ in range(20_000)]
    for text in samples:
        assert fold(text) == plain_rule(text), repr(text)
