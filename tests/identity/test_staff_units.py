"""Units a staff member serves: the current communes/wards given, and the old units merged into them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.identity.access import serves_unit, unit_ids_served
from portal.units.models import AdminUnit, UnitSuccession
from tests.identity.staff_builders import current_unit


def ward_with_old_units(session) -> AdminUnit:
    """A real current ward that took in more than one old commune (from the reference data)."""
    query = select(AdminUnit).where(AdminUnit.system == "current", AdminUnit.level == "commune")
    for unit in session.scalars(query.order_by(AdminUnit.code)):
        if len([link for link in unit.predecessor_links if link.old_unit.level == "commune"]) >= 2:
            return unit
    raise AssertionError("reference data has no merged ward")


def test_a_clerk_serves_the_ward_and_the_old_units_merged_into_it(db_session, make_staff):
    ward = ward_with_old_units(db_session)
    clerk = make_staff(role="clerk", units=[ward])
    olds = [link.old_unit for link in ward.predecessor_links]
    assert serves_unit(clerk, ward)
    assert all(serves_unit(clerk, old) for old in olds)
    assert unit_ids_served(clerk) == {ward.id, *(old.id for old in olds)}


def test_a_clerk_does_not_serve_other_wards_or_their_old_units(db_session, make_staff):
    ward = ward_with_old_units(db_session)
    clerk = make_staff(role="clerk", units=[ward])
    other = next(u for u in db_session.scalars(select(AdminUnit).where(
        AdminUnit.system == "current", AdminUnit.level == "commune", AdminUnit.id != ward.id)))
    mine = [link.old_unit_id for link in ward.predecessor_links]
    foreign_old = db_session.scalar(
        select(AdminUnit).join(UnitSuccession, UnitSuccession.old_unit_id == AdminUnit.id)
        .where(UnitSuccession.new_unit_id == other.id, AdminUnit.id.not_in(mine)))
    assert not serves_unit(clerk, other)
    assert foreign_old is not None and not serves_unit(clerk, foreign_old)


def test_a_deactivated_account_serves_nothing(db_session, make_staff):
    ward = ward_with_old_units(db_session)
    assert not serves_unit(make_staff(units=[ward], active=False), ward)


def test_the_dashboard_lists_the_wards_and_their_old_units(app, db_session, make_staff, login_staff):
    ward = ward_with_old_units(db_session)
    cau_giay = current_unit(db_session, "phuong-cau-giay")
    clerk = make_staff(units=[ward, cau_giay])
    client = app.test_client()
    login_staff(client, clerk)
    html = client.get("/staff/").get_data(as_text=True)
    assert ward.name in html and cau_giay.name in html
    assert all(link.old_unit.name in html for link in ward.predecessor_links)
    assert f'href="/units/{ward.slug}"' in html
    assert "/staff/accounts" not in html  # a clerk is not offered the admin pages


def test_units_are_given_by_code_or_slug_and_only_current_ones(db_session):
    from portal.errors import InvalidInput
    from portal.identity import staff as service

    cau_giay = current_unit(db_session, "phuong-cau-giay")
    assert service.resolve_units(db_session, [cau_giay.code, "phuong-cau-giay", str(int(cau_giay.code))]) \
        == [cau_giay]
    legacy_only = db_session.scalar(select(AdminUnit).where(
        AdminUnit.system == "legacy", AdminUnit.level == "commune",
        AdminUnit.slug.not_in(select(AdminUnit.slug).where(AdminUnit.system == "current"))))
    with pytest.raises(InvalidInput):
        service.resolve_units(db_session, [legacy_only.slug])
