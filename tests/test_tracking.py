"""portal.tracking alone: references, tracking codes and their check (no database, no app)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal import tracking


def test_the_final_reference_takes_the_year_in_hanoi_and_six_digits_at_least():
    # 31 December 2025, 17:30 UTC is already 1 January 2026 in Hanoi.
    assert tracking.final_reference("BS", datetime(2025, 12, 31, 17, 30, tzinfo=UTC), 42) == "BS-2026-000042"
    assert tracking.final_reference("PA", datetime(2026, 5, 1, tzinfo=UTC), 1234567) == "PA-2026-1234567"
    assert tracking.reference_pattern("PA").fullmatch("PA-2026-1234567")
    assert not tracking.reference_pattern("PA").fullmatch("BS-2026-000001")


def test_temporary_references_are_unique_and_never_look_final():
    made = {tracking.temporary_reference() for _ in range(100)}
    assert len(made) == 100
    assert all(r.startswith("tmp-") and not tracking.reference_pattern("BS").fullmatch(r) for r in made)


def test_a_new_code_is_shown_grouped_and_only_its_hash_is_kept():
    shown, stored = tracking.new_code("BS-2026-000001")
    raw = tracking.normalize_code(shown)
    assert len(raw) == tracking.CODE_LENGTH and set(raw) <= set(tracking.CODE_ALPHABET)
    assert shown == f"{raw[:5]}-{raw[5:]}" and raw not in stored and len(stored) == 64
    assert tracking.code_matches(stored, "BS-2026-000001", raw)
    # The reference salts the hash: the same code does not open another case.
    assert not tracking.code_matches(stored, "BS-2026-000002", raw)


def test_unknown_references_and_cases_without_a_code_never_match():
    _, stored = tracking.new_code("PA-2026-000001")
    assert not tracking.code_matches(None, "PA-2026-000001", "ABCDEFGHJK")
    assert not tracking.code_matches("", "PA-2026-000001", "ABCDEFGHJK")
    assert not tracking.code_matches(stored, "PA-2026-000001", "ABCDEFGHJK")


def test_what_people_type_is_read_as_issued_or_refused_before_any_lookup():
    pattern = tracking.reference_pattern("PA")
    typed = tracking.read_attempt(pattern, " pa-2026-000123 ", "abcde fghjk")
    assert typed == ("PA-2026-000123", "ABCDEFGHJK")
    for reference, code in (("PA-2026-123", "ABCDEFGHJK"), ("BS-2026-000123", "ABCDEFGHJK"),
                            ("PA-2026-000123", " - "), ("PA-2026-000123", "A" * 41), (None, None)):
        with pytest.raises(tracking.TrackingFailed):
            tracking.read_attempt(pattern, reference, code)


@pytest.mark.parametrize(("address", "valid"), [
    ("ten@example.vn", True), ("a.b+c@mail.hanoi.gov.vn", True), ("", False), ("ten@example", False),
    ("ten @example.vn", False), ("a@b@example.vn", False), ("Tên <ten@example.vn>", False),
    ("ten@example.vn\nBcc: x@y.vn", False), ("x" * 200 + "@example.vn", False),
])
def test_valid_email(address, valid):
    assert tracking.valid_email(address) is valid
