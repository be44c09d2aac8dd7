"""Following a result from its page, the list of what one follows, and who may follow what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.follows.models import Follow
from portal.identity.models import Citizen
from tests.conftest import csrf_token
from tests.follows.conftest import CITIZEN_ID, ENDS, ENTERPRISE, OTHER_ID
from tests.web.test_sql_budget import counting


def follow(client, source_id: str, email: str = "lan@example.vn"):
    token = csrf_token(client, f"/results/{source_id}/follow")
    return client.post(f"/results/{source_id}/follow", data={"csrf_token": token, "email": email})


def follows(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Follow))


def test_a_holder_follows_her_result_and_sees_it_listed_with_the_address(client, login_citizen, own_record):
    record = own_record(CITIZEN_ID, access="personal", valid_to=ENDS, doc_type_name="Giấy phép lái xe")
    login_citizen(client, "citizen")
    page = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert f'href="/results/{record.source_id}/follow"' in page

    answer = follow(client, record.source_id, "  lan@example.vn ")
    assert answer.status_code == 303 and answer.location == "/my/follows"
    listed = client.get("/my/follows")
    text = listed.get_data(as_text=True)
    assert listed.headers["Cache-Control"] == "private, no-store"
    assert "Giấy phép lái xe" in text and "lan@example.vn" in text and "30/06/2027" in text
    assert "Bạn đang theo dõi Giấy phép lái xe" in text  # the flash, in Vietnamese by default

    # Following again changes the address, never makes a second follow.
    follow(client, record.source_id, "lan.nguyen@example.vn")
    text = client.get("/my/follows?lang=en").get_data(as_text=True)
    assert "lan.nguyen@example.vn" in text and "lan@example.vn" not in text
    assert text.count(f'/results/{record.source_id}"') == 1


def test_the_list_is_empty_at_first_and_the_address_is_checked(client, login_citizen, own_record):
    record = own_record(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    assert "Bạn chưa theo dõi kết quả nào" in client.get("/my/follows").get_data(as_text=True)
    for bad in ("", "lan@", "lan@example", "a@b.vn, c@d.vn", "x" * 200 + "@example.vn"):
        answer = follow(client, record.source_id, bad)
        assert answer.status_code == 400, bad
        assert 'class="field-error"' in answer.get_data(as_text=True)
    assert "Bạn chưa theo dõi kết quả nào" in client.get("/my/follows").get_data(as_text=True)


def test_someone_elses_personal_result_cannot_be_followed(client, login_citizen, own_record, db_session):
    theirs = own_record(OTHER_ID, access="personal", summary="Nội dung riêng tư")
    public_of_theirs = own_record(OTHER_ID)
    login_citizen(client, "citizen")
    assert client.get(f"/results/{theirs.source_id}/follow").status_code == 404
    # The form's token from a page she may open, posted at the other person's result.
    own = own_record(CITIZEN_ID, access="personal")
    token = csrf_token(client, f"/results/{own.source_id}/follow")
    answer = client.post(f"/results/{theirs.source_id}/follow",
                         data={"csrf_token": token, "email": "a@example.vn"})
    assert answer.status_code == 404 and "Nội dung riêng tư" not in answer.get_data(as_text=True)
    # A person's account does not follow other people's public results either (403, saying why).
    refused = client.get(f"/results/{public_of_theirs.source_id}/follow")
    assert refused.status_code == 403 and "tài khoản doanh nghiệp" in refused.get_data(as_text=True)
    assert follows(db_session) == 0


def test_a_business_follows_its_results_and_a_partners_public_result(client, login_citizen, own_record,
                                                                      db_session):
    its_own = own_record(ENTERPRISE, kind="organization", access="personal")
    partners = own_record("0109999999", kind="organization")  # public: a partner's registration
    somebodys = own_record(CITIZEN_ID, access="personal")
    login_citizen(client, "business")
    assert follow(client, its_own.source_id, "ketoan@hoasen.vn").status_code == 303
    assert follow(client, partners.source_id, "ketoan@hoasen.vn").status_code == 303
    assert client.get(f"/results/{somebodys.source_id}/follow").status_code == 404
    assert follows(db_session) == 2


def test_logging_in_is_needed_and_a_low_level_login_is_refused(client, login_citizen, own_record):
    record = own_record(CITIZEN_ID, access="personal")
    answer = client.get("/my/follows")
    assert answer.status_code == 302 and answer.location.startswith("/login?next=")
    assert client.get(f"/results/{record.source_id}/follow").status_code == 302
    login_citizen(client, "citizen-level-1")
    assert client.get("/my/follows").status_code == 403


def test_unfollow_from_the_list_is_a_post_with_its_token(client, login_citizen, own_record, db_session):
    record = own_record(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    follow(client, record.source_id)
    (follow_id,) = db_session.scalars(select(Follow.id)).all()
    assert client.post(f"/my/follows/{follow_id}/unfollow").status_code == 400  # no token: nothing done
    assert follows(db_session) == 1
    token = csrf_token(client, "/my/follows")
    answer = client.post(f"/my/follows/{follow_id}/unfollow", data={"csrf_token": token},
                         follow_redirects=True)
    assert "Bạn không còn theo dõi" in answer.get_data(as_text=True)
    assert follows(db_session) == 0


def test_one_cannot_unfollow_someone_elses_follow(client, login_citizen, own_record, db_session):
    record = own_record(OTHER_ID, access="personal")
    other = Citizen(issuer="https://sso.example.vn", sub="other", name="Trần Văn Minh",
                    subject=record.subject)
    db_session.add(Follow(citizen=other, record=record, email="minh@example.vn"))
    db_session.commit()
    (follow_id,) = db_session.scalars(select(Follow.id)).all()
    login_citizen(client, "citizen")
    token = csrf_token(client, "/my/follows")
    assert client.post(f"/my/follows/{follow_id}/unfollow", data={"csrf_token": token}).status_code == 404
    assert "minh@example.vn" not in client.get("/my/follows").get_data(as_text=True)
    assert follows(db_session) == 1


@pytest.mark.parametrize("count", [1, 12])
def test_the_list_page_runs_the_same_few_statements_for_1_or_12_follows(count, client, login_citizen,
                                                                        own_record):
    records = [own_record(CITIZEN_ID, access="personal", valid_to=ENDS) for _ in range(count)]
    login_citizen(client, "citizen")
    for record in records:
        follow(client, record.source_id)
    with counting() as statements:
        text = client.get("/my/follows").get_data(as_text=True)
    assert len(re.findall(r'/results/HN-WEB-\d+"', text)) == count
    # The account, the count, the page of follows with their results, units and accounts joined.
    assert len(statements) <= 4, statements


def test_the_list_is_paged(client, login_citizen, own_record):
    records = [own_record(CITIZEN_ID, access="personal") for _ in range(21)]
    login_citizen(client, "citizen")
    for record in records:
        follow(client, record.source_id)
    first = client.get("/my/follows").get_data(as_text=True)
    second = client.get("/my/follows?page=2").get_data(as_text=True)
    assert "21 kết quả" in first and 'rel="next"' in first
    assert len(re.findall(r'/results/HN-WEB-\d+"', first)) == 20
    assert len(re.findall(r'/results/HN-WEB-\d+"', second)) == 1
    assert client.get("/my/follows?page=abc").status_code == 200
    assert client.get("/my/follows?page=99").status_code == 200  # past the last: the first
