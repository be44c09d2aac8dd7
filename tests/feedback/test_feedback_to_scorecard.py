"""What people do on the pages reaches their unit's scorecard at the next refresh (issue 12: the
pages serve snapshots the worker counts every SCORECARD_REFRESH_MINUTES; here the test refreshes
where the worker would), and not before. A citizen rates a handled request and a clerk answers
and publishes a petition; the unit's CSV moves by exactly those two."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from portal.copy_requests import events
from portal.copy_requests.workflow import Action
from portal.db import utcnow
from portal.extensions import db
from portal.feedback.models import Petition
from portal.feedback.ratings import normalized
from portal.identity.models import Citizen
from portal.scorecard import snapshots
from tests.conftest import csrf_token
from tests.copy_requests.conftest import CITIZEN_ID

CITIZEN_SUB = "vneid-7f3a9c21"  # the "citizen" account of the test OpenID provider


def figures(client, code: str, *, refresh: bool = True) -> dict[str, str]:
    """The unit's CSV, after the worker's refresh (``refresh``) or as served until then."""
    if refresh:
        snapshots.refresh(db.session, utcnow())
        db.session.commit()
    response = client.get(f"/scorecard/{code}.csv")
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")))
    return {row["metric_id"]: row["value"] for row in rows}


def test_a_rating_and_a_published_answer_reach_the_unit_scorecard_at_the_next_refresh(
        app, client, login_citizen, db_session, record_of, make_request, make_staff, login_staff):
    login_citizen(client, "citizen")
    citizen = db_session.scalar(select(Citizen).where(Citizen.sub == CITIZEN_SUB))
    copy_request, _ = make_request(record_of(CITIZEN_ID, access="personal"), citizen)
    events.transition(db_session, copy_request, Action.ASSIGN, "staff:1")
    events.transition(db_session, copy_request, Action.ISSUE, "staff:1")
    db_session.commit()
    unit = copy_request.unit
    before = figures(client, unit.code)
    assert before["requests_handled"] == "1" and before["ratings"] == "0"
    assert before["satisfaction_score"] == ""  # a mean of nothing is not 0

    url = f"/copy-requests/{copy_request.reference}/rating"
    sent = client.post(url, data={"csrf_token": csrf_token(client, url), "scale": "5-levels",
                                  "score_overall": "4", "score_on_time": "5", "comment": ""})
    assert sent.status_code == 303

    assert figures(client, unit.code, refresh=False)["ratings"] == "0"  # the counted figures, until…
    rated = figures(client, unit.code)  # …the next refresh
    assert rated["ratings"] == "1"
    assert float(rated["satisfaction_score"]) == normalized(4, 5) == 75.0
    assert float(rated["satisfaction_score:on_time"]) == 100.0

    # A petition to the same ward, sent by anyone, answered and published by its clerk.
    public = client.application.test_client()
    form = "/feedback/petitions/new"
    answered = public.post(form, data={
        "csrf_token": csrf_token(public, form), "about": "application",
        "title": "Bộ phận một cửa yêu cầu nộp thêm bản sao sổ hộ khẩu",
        "content": "Khi nộp hồ sơ cấp bản sao, tôi được yêu cầu nộp thêm bản sao sổ hộ khẩu đã bị bãi bỏ.",
        "sender_name": "Trần Văn Minh", "sender_address": "Số 5 phố Trần Thái Tông",
        "sender_phone": "0912345678", "sender_email": "", "unit_id": str(unit.id)})
    assert answered.status_code == 303, answered.get_data(as_text=True)[:500]
    petition = db_session.scalar(select(Petition))
    assert petition.unit_id == unit.id
    assert figures(client, unit.code)["petitions_received"] == "1"

    clerk = make_staff(units=[unit])
    staff = client.application.test_client()
    login_staff(staff, clerk)
    detail = f"/staff/petitions/{petition.reference}"
    for action, data in (("classify", {"category": "extra_papers", "about": "application", "note": ""}),
                         ("answer", {"text": "Đơn vị đã chấn chỉnh: không yêu cầu sổ hộ khẩu.",
                                     "publish": "y"})):
        done = staff.post(f"{detail}/{action}", data={"csrf_token": csrf_token(staff, detail), **data})
        assert done.status_code == 303, (action, done.get_data(as_text=True)[:500])

    after = figures(client, unit.code)
    assert after["petitions_answered"] == "1"
    assert float(after["answers_published_share"]) == 100.0
    assert float(after["petitions_on_time_share"]) == 100.0
