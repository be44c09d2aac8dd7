"""Satisfaction ratings of handled copy requests: through the pages of a citizen logged in with the
real OpenID provider (CSRF on), and through the service for the 7-day rule with a given ``now``."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from portal import create_app
from portal import mail_outbox as tasks
from portal.audit import AuditEntry
from portal.clock import HANOI
from portal.copy_requests import events
from portal.copy_requests.workflow import Action
from portal.db import utcnow
from portal.errors import NotFound
from portal.feedback import ratings
from portal.feedback.models import Rating, RatingScore
from portal.identity.models import Citizen
from tests.conftest import csrf_token
from tests.copy_requests.conftest import CITIZEN_ID

#: The sub of the "citizen" account of the test OpenID provider (Nguyễn Thị Lan).
CITIZEN_SUB = "vneid-7f3a9c21"
PACKAGED = json.loads(ratings.PACKAGED_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def app(make_app, request, tmp_path):
    """The test app; `@pytest.mark.parametrize("app", [{...}], indirect=True)` for other config.
    ``{"scales": "3-levels"}`` writes the packaged scales with that default to a file of our own."""
    overrides = dict(getattr(request, "param", {}))
    default_scale = overrides.pop("scales", None)
    if default_scale:
        path = tmp_path / "scales.json"
        path.write_text(json.dumps({**PACKAGED, "default_scale": default_scale}), encoding="utf-8")
        overrides["FEEDBACK_RATING_SCALES_FILE"] = str(path)
    app = make_app(**overrides)
    with app.app_context():
        yield app


def vi(app, msgid: str, **values) -> str:
    """What a Vietnamese page says for ``msgid`` (the English text until the catalog is merged)."""
    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid, **values)


def logged_in(db_session) -> Citizen:
    return db_session.scalar(select(Citizen).where(Citizen.sub == CITIZEN_SUB))


def handle(db_session, copy_request, action: Action = Action.ISSUE) -> None:
    """A clerk takes the request up and issues (or refuses) it, as the workbench does."""
    events.transition(db_session, copy_request, Action.ASSIGN, "staff:1")
    events.transition(db_session, copy_request, action, "staff:1")
    db_session.commit()
    tasks.nudge()


@pytest.fixture
def my_request(client, login_citizen, db_session, record_of, make_request):
    """``make(handled=True)``: a request of the logged-in "citizen" account for her own result."""
    login_citizen(client, "citizen")

    def make(handled: bool = True, action: Action = Action.ISSUE):
        record = record_of(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh")
        copy_request, _ = make_request(record, logged_in(db_session))
        if handled:
            handle(db_session, copy_request, action)
        return copy_request

    return make


def url(copy_request) -> str:
    return f"/copy-requests/{copy_request.reference}/rating"


def answers(client, copy_request, **values) -> dict:
    data = {"csrf_token": csrf_token(client, url(copy_request)), "scale": "5-levels",
            "score_overall": "5", "score_on_time": "4", "score_staff_attitude": "", "score_clarity": "",
            "comment": "Cán bộ hướng dẫn tận tình."}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def stored(db_session) -> list[Rating]:
    db_session.expire_all()
    return list(db_session.scalars(select(Rating)))


def scores_of(rating: Rating) -> dict[str, int]:
    return {score.criterion: score.value for score in rating.scores}


# -- through the pages ----------------------------------------------------------------------------

def test_a_citizen_rates_a_handled_request_and_sees_it_on_its_page(app, client, my_request, db_session):
    copy_request = my_request()
    page = client.get(f"/copy-requests/{copy_request.reference}").get_data(as_text=True)
    assert f'href="{url(copy_request)}"' in page  # the invitation

    form = client.get(url(copy_request))
    assert form.status_code == 200 and form.headers["Cache-Control"] == "private, no-store"
    html = form.get_data(as_text=True)
    assert copy_request.reference in html and "Trích lục khai sinh" in html
    assert copy_request.unit.name in html
    for text in ("Mức độ hài lòng chung", "Thái độ, tinh thần phục vụ của cán bộ", "Rất không hài lòng",
                 "Rất hài lòng"):
        assert text in html  # the criteria and levels of the scales file, in Vietnamese
    assert html.count('type="radio"') == 4 * 5 and "<legend>" in html

    sent = client.post(url(copy_request), data=answers(client, copy_request))
    assert sent.status_code == 303 and sent.location.endswith(f"/copy-requests/{copy_request.reference}")
    [rating] = stored(db_session)
    assert scores_of(rating) == {"overall": 5, "on_time": 4}
    assert (rating.scale_id, rating.scale_levels) == ("5-levels", 5)
    assert rating.unit_id == copy_request.unit_id and rating.citizen_id == copy_request.requester_id
    assert rating.comment == "Cán bộ hướng dẫn tận tình."
    assert db_session.scalar(select(AuditEntry.action).where(
        AuditEntry.object_ref == f"copy_request:{copy_request.reference}").order_by(AuditEntry.id.desc())
    ) == "rating.create"

    after = client.get(sent.location).get_data(as_text=True)
    thanks = vi(app, "Thank you for rating how request %(ref)s was handled.", ref=copy_request.reference)
    assert thanks in after
    assert "Rất hài lòng" in after and "Hài lòng" in after  # overall 5, on time 4
    until = ratings.change_deadline(rating).astimezone(HANOI)
    assert vi(app, "You can change it until %(time)s on %(date)s.", time=until.strftime("%H:%M"),
              date=until.strftime("%d/%m/%Y")) in after


def test_a_rating_is_changed_within_the_window_and_stays_one(app, client, my_request, db_session):
    copy_request = my_request()
    client.post(url(copy_request), data=answers(client, copy_request))
    again = client.get(url(copy_request)).get_data(as_text=True)
    checked = re.compile(r'<input[^>]*checked[^>]*id="score_overall-4"'
                         r'|<input[^>]*id="score_overall-4"[^>]*checked')
    assert checked.search(again)  # the stored answer, ready to change
    assert vi(app, "Save the changes") in again

    changed = client.post(url(copy_request), data=answers(
        client, copy_request, score_overall="2", score_on_time="", score_clarity="3", comment="Chờ lâu."))
    assert changed.status_code == 303
    [rating] = stored(db_session)
    assert scores_of(rating) == {"overall": 2, "clarity": 3} and rating.comment == "Chờ lâu."
    assert rating.updated_at > rating.created_at
    assert db_session.scalar(select(func.count()).select_from(RatingScore)) == 2
    assert vi(app, "Thank you: your rating has been changed.") in client.get(changed.location).get_data(
        as_text=True)
    assert db_session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "rating.change"


def test_after_seven_days_the_page_shows_the_rating_and_refuses_a_change(app, client, my_request, db_session):
    copy_request = my_request()
    citizen = logged_in(db_session)
    ratings.rate(db_session, citizen, copy_request.reference, "5-levels", {"overall": 4},
                 now=utcnow() - timedelta(days=8))
    db_session.commit()

    page = client.get(url(copy_request))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Hài lòng" in html
    assert 'type="radio"' not in html  # no form any more
    assert vi(app, "Your rating can no longer be changed.") in client.get(
        f"/copy-requests/{copy_request.reference}").get_data(as_text=True)
    token = csrf_token(client, f"/copy-requests/{copy_request.reference}")
    refused = client.post(url(copy_request), data={"csrf_token": token, "scale": "5-levels",
                                                   "score_overall": "1"})
    assert refused.status_code == 409
    assert [scores_of(r) for r in stored(db_session)] == [{"overall": 4}]


def test_a_request_not_handled_yet_cannot_be_rated(app, client, my_request, db_session):
    copy_request = my_request(handled=False)
    assert f'href="{url(copy_request)}"' not in client.get(
        f"/copy-requests/{copy_request.reference}").get_data(as_text=True)
    page = client.get(url(copy_request))
    assert page.status_code == 409
    assert vi(app, "You can rate this request once the one-stop desk has handled it: when the copy is "
                   "issued or the request is refused.") in page.get_data(as_text=True)
    token = csrf_token(client, f"/copy-requests/{copy_request.reference}")
    sent = client.post(url(copy_request), data={"csrf_token": token, "scale": "5-levels",
                                                "score_overall": "5"})
    assert sent.status_code == 409 and stored(db_session) == []
    with pytest.raises(ratings.RatingClosed) as closed:
        ratings.rate(db_session, logged_in(db_session), copy_request.reference, "5-levels", {"overall": 5})
    assert closed.value.reason == "not_handled"


def test_a_refused_request_can_be_rated_too(app, client, my_request, db_session):
    copy_request = my_request(action=Action.REJECT)
    sent = client.post(url(copy_request), data=answers(client, copy_request, score_overall="1"))
    assert sent.status_code == 303
    assert [scores_of(r)["overall"] for r in stored(db_session)] == [1]


def test_another_citizens_request_is_not_found(app, client, my_request, make_request, db_session):
    my_request(handled=False)  # logs "citizen" in
    theirs, _ = make_request()
    handle(db_session, theirs)
    assert client.get(url(theirs)).status_code == 404
    token = csrf_token(client, "/my/copy-requests")
    assert client.post(url(theirs), data={"csrf_token": token, "scale": "5-levels",
                                          "score_overall": "5"}).status_code == 404
    assert client.get("/copy-requests/BS-2026-999999/rating").status_code == 404  # same answer
    with pytest.raises(NotFound):
        ratings.rate(db_session, logged_in(db_session), theirs.reference, "5-levels", {"overall": 5})
    assert stored(db_session) == []


@pytest.mark.parametrize(("values", "msgid", "params"), [
    ({"score_overall": "6"}, "Choose one of the %(levels)s answers offered.", {"levels": 5}),
    ({"score_overall": "0"}, "Choose one of the %(levels)s answers offered.", {"levels": 5}),
    ({"score_overall": "rất tốt"}, "Choose one of the %(levels)s answers offered.", {"levels": 5}),
    ({"score_overall": None}, "Choose an answer for this question.", {}),
    ({"score_on_time": "9"}, "Choose one of the %(levels)s answers offered.", {"levels": 5}),
    ({"comment": "x" * 1001}, "The comment must be at most %(max)s characters.", {"max": 1000}),
])
def test_bad_answers_get_a_clear_message_and_store_nothing(app, client, my_request, db_session, values,
                                                           msgid, params):
    copy_request = my_request()
    sent = client.post(url(copy_request), data=answers(client, copy_request, **values))
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400 and vi(app, msgid, **params) in html
    assert 'role="alert"' in html and "Not a valid" not in html
    assert stored(db_session) == []


def test_without_the_csrf_token_nothing_is_stored(app, client, my_request, db_session):
    copy_request = my_request()
    data = answers(client, copy_request)
    del data["csrf_token"]
    sent = client.post(url(copy_request), data=data)
    assert sent.status_code == 400
    # Refused by the app-wide CSRF check before the view, with the 400 page.
    assert vi(app, "Please check the address or the information you entered and try again.") in sent.get_data(
        as_text=True)
    assert stored(db_session) == []


def test_following_a_request_with_its_code_only_hints_at_logging_in_to_rate(app, client, make_request,
                                                                            db_session):
    copy_request, code = make_request()
    handle(db_session, copy_request)
    ratings.rate(db_session, copy_request.requester, copy_request.reference, "5-levels", {"overall": 1},
                 comment="Rất chậm")
    db_session.commit()
    token = csrf_token(client, "/copy-requests/track")
    html = client.post("/copy-requests/track", data={"csrf_token": token, "reference": copy_request.reference,
                                                     "code": code}).get_data(as_text=True)
    assert copy_request.reference in html and f'href="{url(copy_request)}"' in html
    assert vi(app, "Log in to rate") in html
    assert "Rất không hài lòng" not in html and "Rất chậm" not in html  # the rating stays private


def test_an_anonymous_visitor_is_sent_to_log_in(app, client):
    answer = client.get("/copy-requests/BS-2026-000001/rating")
    assert answer.status_code == 302 and "/login" in answer.location


@pytest.mark.parametrize("app", [{"FEEDBACK_RATING_RATE_LIMIT": "2 per minute"}], indirect=True)
def test_too_many_posts_are_refused_with_429(app, client, my_request, db_session):
    copy_request = my_request()
    codes = [client.post(url(copy_request), data=answers(client, copy_request, score_overall=str(n)))
             .status_code for n in (3, 4, 5)]
    assert codes == [303, 303, 429]
    assert client.get(url(copy_request)).status_code == 200  # reading the form is free
    assert [scores_of(r)["overall"] for r in stored(db_session)] == [4]


# -- the e-mail -----------------------------------------------------------------------------------

@pytest.mark.parametrize("app", [{"PUBLIC_BASE_URL": "https://ketqua.hanoi.gov.vn"}], indirect=True)
@pytest.mark.parametrize("action", [Action.ISSUE, Action.REJECT])
def test_the_issued_and_refused_mails_invite_to_rate(app, make_request, db_session, action):
    copy_request, _ = make_request(email="lan@example.vn")
    handle(db_session, copy_request, action)
    mails = sorted((Path(app.config["DATA_DIR"]) / "mail").glob("*.eml"))
    last = email.message_from_bytes(mails[-1].read_bytes(), policy=email.policy.default)
    link = f"https://ketqua.hanoi.gov.vn/copy-requests/{copy_request.reference}/rating"
    assert copy_request.reference in last["Subject"]
    for subtype in ("plain", "html"):
        part = last.get_body(preferencelist=(subtype,)).get_content()
        assert link in part and "đánh giá mức độ hài lòng" in part


# -- scales: 3 and 5 levels, the configuration ------------------------------------------------------

@pytest.mark.parametrize("app", [{"scales": "3-levels"}], indirect=True)
def test_a_three_level_scale_from_a_file_of_our_own(app, client, my_request, db_session):
    copy_request = my_request()
    html = client.get(url(copy_request)).get_data(as_text=True)
    assert html.count('type="radio"') == 4 * 3 and "Rất không hài lòng" not in html
    too_high = client.post(url(copy_request), data=answers(client, copy_request, scale="3-levels",
                                                           score_overall="4", score_on_time=""))
    assert too_high.status_code == 400 and vi(app, "Choose one of the %(levels)s answers offered.",
                                              levels=3) in too_high.get_data(as_text=True)
    ok = client.post(url(copy_request), data=answers(client, copy_request, scale="3-levels",
                                                     score_overall="3", score_on_time="1"))
    assert ok.status_code == 303
    [rating] = stored(db_session)
    assert (rating.scale_id, rating.scale_levels, scores_of(rating)) == ("3-levels", 3, {"overall": 3,
                                                                                        "on_time": 1})
    assert "Rất hài lòng" in client.get(ok.location).get_data(as_text=True)


def test_both_scales_are_accepted_and_compare_on_0_to_100(app, make_request, db_session):
    first, _ = make_request()
    second, _ = make_request()
    for copy_request in (first, second):
        handle(db_session, copy_request)
    five = ratings.rate(db_session, first.requester, first.reference, "5-levels", {"overall": 3})
    three = ratings.rate(db_session, second.requester, second.reference, "3-levels", {"overall": 2})
    db_session.commit()
    assert (five.scale_levels, three.scale_levels) == (5, 3)
    assert ratings.normalized(3, 5) == ratings.normalized(2, 3) == 50.0
    assert (ratings.normalized(1, 5), ratings.normalized(3, 3)) == (0.0, 100.0)
    with pytest.raises(ratings.InvalidRating) as bad:
        ratings.rate(db_session, first.requester, first.reference, "7-levels", {"overall": 3})
    assert set(bad.value.errors) == {"scale"}


def test_the_change_window_is_seven_days_from_the_first_rating(app, make_request, db_session):
    copy_request, _ = make_request()
    handle(db_session, copy_request)
    citizen, ref = copy_request.requester, copy_request.reference
    first = utcnow() - timedelta(days=30)
    rating = ratings.rate(db_session, citizen, ref, "5-levels", {"overall": 2}, now=first)
    assert rating.created_at == first
    assert ratings.may_rate(copy_request, citizen, first + timedelta(days=6), rating=rating)
    ratings.rate(db_session, citizen, ref, "5-levels", {"overall": 3}, now=first + timedelta(days=6))
    ratings.rate(db_session, citizen, ref, "5-levels", {"overall": 4}, now=first + timedelta(days=7))
    assert not ratings.may_rate(copy_request, citizen, first + timedelta(days=7, seconds=1), rating=rating)
    with pytest.raises(ratings.RatingClosed) as closed:
        ratings.rate(db_session, citizen, ref, "5-levels", {"overall": 5},
                     now=first + timedelta(days=7, seconds=1))
    assert closed.value.reason == "too_late"
    db_session.commit()
    [kept] = stored(db_session)
    assert scores_of(kept) == {"overall": 4} and kept.updated_at == first + timedelta(days=7)
    assert kept.created_at == first  # changes never move the window


def test_a_broken_scales_file_stops_the_app_at_boot(tmp_path, database):
    path = tmp_path / "scales.json"
    path.write_text(json.dumps({**PACKAGED, "default_scale": "10-levels"}), encoding="utf-8")
    with pytest.raises(ratings.RatingConfigError, match="10-levels"):
        create_app({"TESTING": True, "DATABASE_URL": database(), "DATA_DIR": str(tmp_path / "data"),
                    "FEEDBACK_RATING_SCALES_FILE": str(path)})
    path.write_text(json.dumps({**PACKAGED, "scales": {"one": {"label_vi": "Một", "levels": [{"vi": "x"}]}},
                                "default_scale": "one"}), encoding="utf-8")
    with pytest.raises(ratings.RatingConfigError, match="at least 2 levels"):
        ratings.load_scales(path)
