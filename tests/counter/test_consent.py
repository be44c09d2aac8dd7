"""Consent, at the service level: the one-time code (right, wrong, expired, too many tries, resends)
and the signed form (a real scan accepted; a hostile or oversized file refused)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.counter import services
from portal.counter.models import CounterSession
from portal.errors import Forbidden
from portal.feedback.reports import Attachment, InvalidReport
from tests.counter.conftest import CONTACT, OTHER_ID, PERSON_ID
from tests.web.conftest import pdf_bytes

SECRET = "test-secret"
SETTINGS = services.Settings()


@pytest.fixture
def opened(world, db_session):
    def run(id_number: str = PERSON_ID, clerk=None):
        counter = services.open_session(db_session, clerk or world.clerk, id_number, world.ward.id,
                                        clock.now())
        db_session.commit()
        return counter

    return run


def test_the_contact_on_file_is_the_latest_address_the_person_gave_and_is_masked(world, opened):
    counter = opened()
    assert counter.contact_email == CONTACT
    assert services.mask_email(CONTACT) == "l***@example.vn"


def test_the_right_code_starts_the_session_for_30_minutes(world, opened, db_session):
    counter = opened()
    now = clock.now()
    code = services.send_code(db_session, counter, SETTINGS, SECRET, now)
    assert len(code) == 6 and code.isdecimal() and code not in counter.code_hash  # only its HMAC is kept
    services.confirm_code(db_session, counter, f" {code} ", SETTINGS, SECRET, now + timedelta(minutes=9))
    assert counter.state == "active" and counter.consent_method == "code"
    assert counter.expires_at - counter.started_at == timedelta(minutes=30)
    with pytest.raises(services.CounterRefused, match="not_pending"):  # a code works once
        services.confirm_code(db_session, counter, code, SETTINGS, SECRET, now)


def test_a_wrong_code_counts_and_the_fifth_ends_the_session(world, opened, db_session):
    counter = opened()
    now = clock.now()
    code = services.send_code(db_session, counter, SETTINGS, SECRET, now)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for remaining in (4, 3, 2, 1):
        with pytest.raises(services.CounterRefused) as refused:
            services.confirm_code(db_session, counter, wrong, SETTINGS, SECRET, now)
        assert refused.value.facts == {"remaining": remaining}
    with pytest.raises(services.CounterRefused, match="too_many_codes"):
        services.confirm_code(db_session, counter, wrong, SETTINGS, SECRET, now)
    with pytest.raises(services.CounterRefused, match="not_pending"):
        services.confirm_code(db_session, counter, code, SETTINGS, SECRET, now)  # even the right one now
    db_session.commit()
    assert counter.state == "ended" and counter.ended_reason == "too_many_codes"
    assert counter.summary_queued_at is None  # it never started: nothing to tell
    # Opening again for the same person gives no new tries by code: the signed form only.
    again = opened()
    with pytest.raises(services.CounterRefused, match="too_many_codes"):
        services.send_code(db_session, again, SETTINGS, SECRET, now + timedelta(minutes=5))


def test_an_expired_code_is_refused_and_a_new_one_can_be_sent(world, opened, db_session):
    counter = opened()
    now = clock.now()
    code = services.send_code(db_session, counter, SETTINGS, SECRET, now)
    later = now + timedelta(minutes=10, seconds=1)
    with pytest.raises(services.CounterRefused, match="code_expired"):
        services.confirm_code(db_session, counter, code, SETTINGS, SECRET, later)
    fresh = services.send_code(db_session, counter, SETTINGS, SECRET, later)
    services.confirm_code(db_session, counter, fresh, SETTINGS, SECRET, later)
    assert counter.state == "active"


def test_resends_are_spaced_and_limited(world, opened, db_session):
    counter = opened()
    now = clock.now()
    services.send_code(db_session, counter, SETTINGS, SECRET, now)
    with pytest.raises(services.CounterRefused, match="too_soon"):
        services.send_code(db_session, counter, SETTINGS, SECRET, now + timedelta(seconds=30))
    services.send_code(db_session, counter, SETTINGS, SECRET, now + timedelta(minutes=1))
    services.send_code(db_session, counter, SETTINGS, SECRET, now + timedelta(minutes=2))
    with pytest.raises(services.CounterRefused, match="too_many_sends"):
        services.send_code(db_session, counter, SETTINGS, SECRET, now + timedelta(minutes=3))


def test_no_contact_on_file_means_no_code_only_the_form(world, opened, db_session):
    counter = opened(OTHER_ID)  # this person never gave the portal an address
    assert counter.contact_email == ""
    with pytest.raises(services.CounterRefused, match="no_contact"):
        services.send_code(db_session, counter, SETTINGS, SECRET, clock.now())


def test_a_signed_form_starts_the_session_and_is_stored(world, opened, db_session, store):
    counter = opened(OTHER_ID)
    data = pdf_bytes(1)
    services.consent_by_form(db_session, counter, Attachment("phieu-dong-y.pdf", data), SETTINGS, clock.now())
    assert counter.state == "active" and counter.consent_method == "form"
    assert counter.consent_media_type == "application/pdf" and store.path_for(counter.consent_sha256).exists()


@pytest.mark.parametrize(("data", "code"), [
    (b"%PDF-1.7\n<html><script>alert(1)</script></html>", "attachment_type"),  # markup in the head
    (b"MZ\x90\x00 not a scan", "attachment_type"),
    (b"%PDF-1.7\n" + b"0" * 200 + b"\n%%EOF", "attachment_corrupt"),
])
def test_a_hostile_form_is_refused(world, opened, db_session, data, code):
    counter = opened(OTHER_ID)
    with pytest.raises(InvalidReport) as refused:
        services.consent_by_form(db_session, counter, Attachment("x.pdf", data), SETTINGS, clock.now())
    assert refused.value.code == code and counter.state == "pending"


def test_an_oversized_form_is_refused_before_it_is_read(world, opened, db_session):
    counter = opened(OTHER_ID)
    small = services.Settings(consent_max_bytes=1000)
    with pytest.raises(InvalidReport) as refused:
        services.consent_by_form(db_session, counter, Attachment("x.pdf", pdf_bytes(1)), small, clock.now())
    assert refused.value.code == "attachment_size"


def test_unknown_people_and_units_not_served_are_refused(world, opened, db_session, make_staff):
    with pytest.raises(services.CounterRefused, match="unknown_person"):
        opened("012345678999")
    elsewhere_clerk = make_staff(role="clerk", units=[world.elsewhere])
    with pytest.raises(Forbidden):
        services.open_session(db_session, elsewhere_clerk, PERSON_ID, world.ward.id, clock.now())
    operator = make_staff(role="operator", units=[world.ward])
    with pytest.raises(Forbidden):
        services.open_session(db_session, operator, PERSON_ID, world.ward.id, clock.now())


def test_one_session_per_clerk_a_new_one_ends_the_last(world, opened, db_session):
    first = opened()
    second = opened(OTHER_ID)
    assert first.state == "ended" and first.ended_reason == "replaced" and second.state == "pending"
    assert db_session.scalars(select(CounterSession).where(CounterSession.state != "ended")).all() == [second]
