"""Account administration pages: admins create, edit, unlock and reset accounts; all audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.identity import staff as service
from portal.identity.models import StaffUser
from tests.identity.staff_builders import STAFF_PASSWORD, current_unit, form_token


@pytest.fixture
def admin_client(app, make_staff, login_staff):
    client = app.test_client()
    client.set_cookie("lang", "en")
    client.admin = make_staff(role="admin", username="quan.tri")
    login_staff(client, client.admin)
    return client


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def create_form(client, **fields):
    data = {"username": "pham.thu", "full_name": "Phạm Thu", "email": "thu@hanoi.gov.vn", "role": "clerk",
            "units": [current_unit(db.session, "phuong-cau-giay").id], "password": "", "confirm": "",
            "csrf_token": form_token(client, "/staff/accounts/new")}
    data.update(fields)
    return client.post("/staff/accounts/new", data=data)


def test_create_with_a_generated_password_shown_once(app, admin_client, login_staff):
    response = create_form(admin_client)
    assert response.status_code == 200
    password = re.search(r'id="one-time-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    staff = service.find_by_username(db.session, "pham.thu")
    assert staff.role == "clerk" and [u.slug for u in staff.units] == ["phuong-cau-giay"]
    assert password not in staff.password_hash and service.password_problems(password, staff.username) == []
    [entry] = audit_entries("staff.create")
    assert entry.actor == f"staff:{admin_client.admin.id}" and entry.object_ref == f"staff:{staff.id}"
    # the new clerk logs in with it (enrolment first: no second factor yet)
    newcomer = app.test_client()
    response = newcomer.post("/staff/login", data={"username": "pham.thu", "password": password,
                                                   "csrf_token": form_token(newcomer, "/staff/login")})
    assert response.location.endswith("/staff/login/enrol")


def test_create_with_a_password_set_by_the_admin(admin_client):
    chosen = "mat-khau-do-quan-tri-dat"
    response = create_form(admin_client, password=chosen, confirm=chosen)
    assert response.status_code == 200 and "one-time-password" not in response.get_data(as_text=True)
    staff = service.find_by_username(db.session, "pham.thu")
    assert service.check_password(db.session, "pham.thu", "mat-khau-do-quan-tri-dat",
                                  policy=service.LoginPolicy()) is staff


@pytest.mark.parametrize("fields, message", [
    ({"password": "short", "confirm": "short"}, "at least 12 characters"),
    ({"password": "xx-pham.thu-xx-2025", "confirm": "xx-pham.thu-xx-2025"}, "must not contain the username"),
    ({"password": "mot-mat-khau-dai", "confirm": "mot-mat-khau-khac"}, "The two passwords differ."),
    ({"username": "quan.tri"}, "already used by another account"),
    ({"username": "có dấu"}, "Letters, digits, dots"),
])
def test_refused_creations_write_nothing(admin_client, fields, message):
    response = create_form(admin_client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(StaffUser).where(StaffUser.username == "pham.thu")) is None
    assert audit_entries("staff.create") == []


def test_edit_role_units_and_active(admin_client, make_staff, login_staff, app):
    staff = make_staff(role="clerk", units=["phuong-cau-giay"])
    ba_dinh = current_unit(db.session, "phuong-ba-dinh")
    url = f"/staff/accounts/{staff.id}"
    page = admin_client.get(url).get_data(as_text=True)
    checked = rf'<input checked id="units-\d+" name="units" type="checkbox" value="{staff.units[0].id}">'
    assert re.search(checked, page)
    data = {"full_name": "Tên mới", "email": "", "role": "supervisor", "units": [ba_dinh.id],
            "csrf_token": form_token(admin_client, url)}  # "active" unticked
    response = admin_client.post(url, data=data)
    assert response.status_code == 302
    db.session.refresh(staff)
    assert staff.role == "supervisor" and staff.units == [ba_dinh] and not staff.active
    [entry] = audit_entries("staff.update")
    assert entry.details["before"]["role"] == "clerk" and entry.details["after"]["active"] is False
    # deactivated: the password step refuses, and an open session stops working
    other = app.test_client()
    response = other.post("/staff/login", data={"username": staff.username, "password": STAFF_PASSWORD,
                                                "csrf_token": form_token(other, "/staff/login")})
    assert response.status_code == 200 and "/staff/login/otp" not in (response.location or "")


def test_an_admin_cannot_demote_themselves(admin_client):
    admin = admin_client.admin
    url = f"/staff/accounts/{admin.id}"
    response = admin_client.post(url, data={"full_name": admin.full_name, "role": "clerk", "active": "y",
                                            "csrf_token": form_token(admin_client, url)})
    assert response.status_code == 400 and "your own administrator role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin"


def test_unlock_from_the_account_page(admin_client, make_staff, db_session):
    staff = make_staff()
    with pytest.raises(service.LoginFailed):
        service.check_password(db_session, staff.username, "wrong-password-123",
                               policy=service.LoginPolicy(max_failures=1))
    db_session.commit()
    url = f"/staff/accounts/{staff.id}"
    assert "Unlock" in admin_client.get(url).get_data(as_text=True)
    response = admin_client.post(f"{url}/unlock", data={"csrf_token": form_token(admin_client, url)})
    assert response.status_code == 302
    db.session.refresh(staff)
    assert not service.is_locked(staff)
    assert [e.object_ref for e in audit_entries("staff.unlock")] == [f"staff:{staff.id}"]


def test_reset_second_factor_sends_the_next_login_to_enrolment(app, admin_client, make_staff):
    staff = make_staff()
    url = f"/staff/accounts/{staff.id}"
    admin_client.post(f"{url}/reset-otp", data={"csrf_token": form_token(admin_client, url)})
    db.session.refresh(staff)
    assert staff.totp_secret is None and len(audit_entries("staff.reset_otp")) == 1
    client = app.test_client()
    response = client.post("/staff/login", data={"username": staff.username, "password": STAFF_PASSWORD,
                                                 "csrf_token": form_token(client, "/staff/login")})
    assert response.location.endswith("/staff/login/enrol")


def test_generate_a_new_password(admin_client, make_staff):
    staff = make_staff()
    url = f"/staff/accounts/{staff.id}"
    response = admin_client.post(f"{url}/password", data={"csrf_token": form_token(admin_client, url)})
    password = re.search(r'id="one-time-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    policy = service.LoginPolicy()
    assert service.check_password(db.session, staff.username, password, policy=policy) is staff
    with pytest.raises(service.LoginFailed):
        service.check_password(db.session, staff.username, STAFF_PASSWORD, policy=policy)
    assert len(audit_entries("staff.set_password")) == 1


def test_the_list_is_paginated_and_searchable(admin_client, make_staff):
    for n in range(30):
        make_staff(username=f"can.bo.{n:02d}", full_name=f"Cán bộ số {n}")
    first = admin_client.get("/staff/accounts").get_data(as_text=True)
    second = admin_client.get("/staff/accounts?page=2").get_data(as_text=True)
    assert "31 accounts" in first
    assert first.count('<th scope="row">') == 25 and second.count('<th scope="row">') == 6
    assert 'rel="next"' in first and "can.bo.29" in second
    found = admin_client.get("/staff/accounts?q=s%E1%BB%91+7").get_data(as_text=True)
    assert found.count('<th scope="row">') == 1 and "can.bo.07" in found


def test_services_refuse_a_non_admin_actor(db_session, make_staff):
    clerk = make_staff(role="clerk")
    from portal.errors import Forbidden

    with pytest.raises(Forbidden):
        service.unlock(db_session, clerk, clerk)
    with pytest.raises(Forbidden):
        service.list_staff(db_session, clerk)


def test_deactivating_ends_an_open_session(app, admin_client, make_staff, login_staff):
    staff = make_staff(units=["phuong-cau-giay"])
    client = app.test_client()
    login_staff(client, staff)
    assert client.get("/staff/").status_code == 200
    url = f"/staff/accounts/{staff.id}"
    admin_client.post(url, data={"full_name": staff.full_name, "role": "clerk", "units": [staff.units[0].id],
                                 "csrf_token": form_token(admin_client, url)})
    response = client.get("/staff/")
    assert response.status_code == 302 and response.location.startswith("/staff/login")
