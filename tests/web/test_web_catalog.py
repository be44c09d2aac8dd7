"""The Vietnamese catalog is complete: every message in the code and templates is translated,
and the committed .mo is the compiled .po (a stale .mo would show English to Vietnamese users)."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "portal/translations/vi/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
#: Same keywords as the documented `pybabel extract -k _l` (plus babel's defaults).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}


def extracted_msgids() -> set[str | tuple[str, ...]]:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        if isinstance(message, tuple):
            message = message[0] if len(message) == 1 or message[1] is None else message[:2]
        found.add(message)
    return found


def catalog():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="vi")


def test_every_message_has_a_vietnamese_translation():
    entries = {m.id: m for m in catalog() if m.id}
    missing = sorted(str(m) for m in extracted_msgids() if m not in entries)
    assert not missing, f"not in messages.po (run pybabel update, see docs/ui.md): {missing}"
    untranslated = sorted(str(m.id) for m in entries.values()
                          if m.fuzzy or not all(m.string if isinstance(m.string, tuple) else (m.string,)))
    assert not untranslated, f"untranslated or fuzzy in messages.po: {untranslated}"


def test_no_obsolete_entries_left():
    used = extracted_msgids()
    stale = sorted(str(m.id) for m in catalog() if m.id and m.id not in used)
    assert not stale, f"in messages.po but no longer used: {stale}"


def test_placeholders_survive_translation():
    import re

    for message in catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[0]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)s", string)) == wanted, message.id
            # Templates always %-format what they translate (Jinja's newstyle gettext): a bare
            # "100 %" raises "incomplete format" and the page is a 500.
            values = {name: 1 for name in re.findall(r"%\((\w+)\)", ids[0])}
            try:
                string % values
            except (ValueError, TypeError, KeyError) as error:
                raise AssertionError(f"{message.id!r}: {string!r} cannot be formatted ({error})") from None


def _entries(mo) -> dict:
    def key(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {key(m.id): key(m.string) for m in read_mo(mo) if m.id}


def test_compiled_mo_matches_the_po():
    with open(MO, "rb") as handle:
        committed = _entries(handle)
    fresh = io.BytesIO()
    write_mo(fresh, catalog())
    fresh.seek(0)
    expected = _entries(fresh)
    assert expected
    assert committed == expected, "messages.mo is stale: run pybabel compile -d portal/translations"
