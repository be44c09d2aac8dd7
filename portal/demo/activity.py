"""``flask demo activity``: a year of made-up service activity, so the demo portal's scorecard
(and the staff queues) show real-looking figures.

After ``flask demo seed`` (results) and ``flask staff demo-accounts`` (staff), it writes, from one
seeded ``random.Random``: demo citizens (the development identity provider's people, so logging in
as one shows their requests), copy requests over the last 12 months with their events (submit,
assign, issue or reject, deliver), mostly on time with some late and a few still open past their
due time; ratings on the 5- and 3-level scales over every criterion; petitions in every state
with deadlines from the petition categories; and a few problem reports.

Rows are written directly (no e-mail, no signed copy: the request states and events are what the
scorecard counts). Demo references are recognisable: ``BS-``, ``PA-`` and ``PB-<year>-8xxxxxxxx``
(nine digits, where real ones have six); when any demo copy request exists the command does
nothing, so running it twice adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import clock
from portal.clock import HANOI, load_calendar
from portal.copy_requests import fees
from portal.copy_requests.models import CopyKind, CopyRequest, CopyRequestEvent
from portal.db import utcnow
from portal.demo.people import PeopleFactory
from portal.feedback.models import (
    Petition,
    PetitionAbout,
    PetitionEvent,
    PetitionState,
    ProblemKind,
    ProblemReport,
    Rating,
    RatingScore,
    ReportState,
)
from portal.feedback.petition_categories import due_at, load_categories
from portal.feedback.ratings import load_scales
from portal.identity.models import Citizen, StaffUser, Subject, SubjectKind
from portal.records.models import Access, Record
from portal.units.services import handling_unit

#: Serials of demo references: nine digits from 8…, where real ones have six (the row id).
REFERENCE_SERIAL = 800_000_000
KIND_WEIGHTS = {CopyKind.ELECTRONIC: 42, CopyKind.CERTIFIED: 26, CopyKind.PAPER_DESK: 22,
                CopyKind.PAPER_POST: 10}
PURPOSES = ["Bổ sung hồ sơ vay vốn ngân hàng", "Nộp hồ sơ xin việc", "Hoàn thiện hồ sơ mua bán nhà đất",
            "Bổ sung hồ sơ nhập học cho con", "Làm thủ tục xuất cảnh", "Nộp hồ sơ đấu thầu",
            "Lưu trữ gia đình", "Làm hồ sơ hưởng chế độ bảo hiểm xã hội"]
COMMENTS = ["Cán bộ hướng dẫn nhiệt tình, nhận bản sao nhanh.", "Thủ tục gọn, không phải đi lại nhiều.",
            "Trả kết quả hơi chậm so với hẹn.", "Hài lòng, sẽ giới thiệu cho người quen.",
            "Cần hướng dẫn rõ hơn về lệ phí.", ""]
PETITION_TOPICS = [
    (PetitionAbout.APPLICATION, "desk_conduct", "Thái độ cán bộ tại bộ phận một cửa",
     "Ngày hôm qua tôi đến nộp hồ sơ, cán bộ tiếp nhận trả lời thiếu tôn trọng và không hướng dẫn rõ."),
    (PetitionAbout.APPLICATION, "extra_papers", "Yêu cầu nộp thêm giấy tờ không có trong quy định",
     "Khi xin cấp bản sao, tôi bị yêu cầu nộp thêm giấy xác nhận cư trú, trong khi thủ tục không quy định."),
    (PetitionAbout.APPLICATION, "late_handling", "Trả kết quả trễ hẹn",
     "Giấy hẹn ghi trả kết quả ngày thứ Sáu nhưng đến thứ Ba tuần sau tôi vẫn chưa nhận được."),
    (PetitionAbout.RULES, "procedure_simplification", "Đề nghị bỏ yêu cầu bản sao chứng thực",
     "Đề nghị cho phép nộp bản sao điện tử thay cho bản sao chứng thực giấy khi làm thủ tục đăng ký "
     "hộ kinh doanh."),
    (PetitionAbout.RULES, "rule_content", "Kiến nghị về mức lệ phí cấp bản sao",
     "Mức phí bản sao giấy theo trang khá cao với hồ sơ nhiều trang, đề nghị xem xét lại."),
    (PetitionAbout.APPLICATION, "data_error", "Sai thông tin trên kết quả số hóa",
     "Kết quả tra cứu ghi sai ngày cấp giấy chứng nhận của gia đình tôi, đề nghị kiểm tra lại."),
    (PetitionAbout.APPLICATION, "online_service", "Cổng tra cứu không tải được bản quét",
     "Tôi không mở được bản quét trên điện thoại, đề nghị kiểm tra lại chức năng xem trước."),
]
ANSWERS = ["Đơn vị đã kiểm tra, chấn chỉnh cán bộ liên quan và xin lỗi ông/bà vì sự bất tiện.",
           "Đơn vị đã rà soát, xác nhận thông tin và cập nhật lại dữ liệu trên cổng.",
           "Kiến nghị đã được ghi nhận và tổng hợp gửi cơ quan có thẩm quyền sửa đổi quy định.",
           "Theo quy định hiện hành, yêu cầu này là đúng; đơn vị đã hướng dẫn chi tiết để ông/bà thực hiện."]
REPORT_TEXTS = {ProblemKind.WRONG_NAME: "Tên người được cấp bị sai dấu.",
                ProblemKind.WRONG_DATE: "Ngày cấp trên cổng khác ngày ghi trên bản giấy.",
                ProblemKind.MISSING_PAGE: "Bản quét thiếu trang 2.",
                ProblemKind.UNREADABLE_SCAN: "Bản quét mờ, không đọc được số giấy.",
                ProblemKind.WRONG_STATUS: "Kết quả đã được thay thế nhưng vẫn ghi còn hiệu lực.",
                ProblemKind.OTHER: "Đề nghị bổ sung thông tin phạm vi của giấy phép."}


@dataclass(frozen=True)
class ActivityStats:
    skipped: bool
    citizens: int = 0
    requests: int = 0
    events: int = 0
    ratings: int = 0
    petitions: int = 0
    reports: int = 0


def demo_activity_exists(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(CopyRequest).where(
        func.length(CopyRequest.reference) == 17, CopyRequest.reference.like("BS-%-8%"))) > 0


def _hanoi(day, minutes: int) -> datetime:
    return datetime.combine(day, time(0), tzinfo=HANOI) + timedelta(minutes=minutes)


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(session: Session, *, issuer: str, requests: int = 600, petitions: int = 70, reports: int = 12,
             seed: int = 7, now: datetime | None = None) -> ActivityStats:
    """Write the demo activity (flushes; the caller commits). Does nothing if it is there already."""
    if demo_activity_exists(session):
        return ActivityStats(skipped=True)
    rng = random.Random(seed)
    now = now or utcnow()
    calendar = load_calendar()
    records = session.scalars(
        select(Record).where(Record.files.any()).order_by(Record.id)
        .options(selectinload(Record.files))).all()
    if not records:
        raise LookupError("no result with scans: run `flask demo seed` first")
    staff = session.scalars(select(StaffUser).order_by(StaffUser.id)).all()
    staff_of: dict[int, list[StaffUser]] = {}
    for member in staff:
        for unit in member.units:
            staff_of.setdefault(unit.id, []).append(member)

    def handling_unit_id(record: Record) -> int:
        return handling_unit(record.issuing_unit).id

    # The demo staff's unit gets a fifth of the requests, so the workbench demo has a queue of its own.
    favoured = {unit.id for member in staff for unit in member.units}
    favoured_records = [r for r in records if handling_unit_id(r) in favoured]

    citizens: dict[int, Citizen] = {c.subject_id or c.organization_subject_id: c for c in session.scalars(
        select(Citizen).where(Citizen.issuer == issuer))}
    made_citizens = 0

    def citizen_for(subject: Subject) -> Citizen:
        nonlocal made_citizens
        if subject.id not in citizens:
            citizen = Citizen(issuer=issuer, sub=f"dev-{subject.kind}-{subject.id}",
                              account_type=subject.kind, name=subject.name, loa=2)
            if subject.kind == SubjectKind.ORGANIZATION:
                citizen.organization = subject
                citizen.name = f"Người đại diện {subject.name}"
            else:
                citizen.subject = subject
            session.add(citizen)
            citizens[subject.id] = citizen
            made_citizens += 1
        return citizens[subject.id]

    public_pool = [citizen_for(r.subject) for r in records[:40]]
    start_day = (clock.in_hanoi(now) - timedelta(days=364)).date()
    events_made = 0
    rated = 0
    scales = load_scales()
    criteria = [c.id for c in scales.criteria]
    made_requests: list[CopyRequest] = []

    for n in range(requests):
        record = rng.choice(favoured_records if favoured_records and rng.random() < 0.2 else records)
        personal = record.access == Access.PERSONAL
        requester = citizen_for(record.subject) if personal else rng.choice(public_pool)
        # Busier lately: the portal grew over the year (day offsets skewed towards today).
        offset = int(364 * rng.random() ** 0.8)
        day = start_day + timedelta(days=offset)
        while not calendar.is_working_day(day) and rng.random() < 0.85:
            day += timedelta(days=1)
        submitted = _hanoi(day, rng.randint(7 * 60 + 30, 17 * 60 + 30))
        if submitted >= now:
            submitted = now - timedelta(hours=rng.randint(1, 48))
        kind = _weighted(rng, KIND_WEIGHTS)
        due = calendar.due_at(submitted, kind.value)
        quote = fees.quote(record, kind, 1)
        request = CopyRequest(
            reference=f"BS-{submitted.year}-{REFERENCE_SERIAL + n + 1}", record=record, requester=requester,
            unit_id=handling_unit_id(record), kind=kind.value, copies=1, purpose=rng.choice(PURPOSES),
            delivery_address="số 12 phố Trần Thái Tông, Hà Nội" if kind == CopyKind.PAPER_POST else "",
            pages=quote.pages, fee_vnd=quote.total_vnd, state="submitted", submitted_at=submitted, due_at=due,
            created_at=submitted, updated_at=submitted)
        clerks = staff_of.get(request.unit_id) or staff[:1]
        clerk = rng.choice(clerks) if clerks else None
        clerk_actor = f"staff:{clerk.id}" if clerk else "system"
        history = [("submit", None, "submitted", submitted, "requester")]
        age_hours = (now - submitted).total_seconds() / 3600
        fate = rng.random()
        if age_hours < 72 and fate < 0.6:
            fate = 1.5  # recent: still waiting
        if fate < 0.03:  # cancelled by the requester before anyone took it
            cancelled = submitted + timedelta(hours=rng.uniform(1, 6))
            history.append(("cancel", "submitted", "cancelled", cancelled, "requester"))
        elif fate >= 0.97 or fate == 1.5:  # still open (some of them past due)
            if rng.random() < 0.6:
                history.append(("assign", "submitted", "in_progress",
                                 min(now, submitted + timedelta(minutes=rng.randint(10, 240))), clerk_actor))
        else:
            late = rng.random() < 0.09
            assigned = submitted + timedelta(minutes=rng.randint(5, 180))
            if late:
                handled = due + timedelta(hours=rng.uniform(2, 70))
            else:
                span = max(0.5, (due - assigned).total_seconds() / 3600)
                handled = assigned + timedelta(hours=rng.uniform(0.3, span) * rng.uniform(0.2, 1.0))
            handled = min(handled, now - timedelta(minutes=5))
            assigned = min(assigned, handled)
            rejected = rng.random() < 0.07
            history.append(("assign", "submitted", "in_progress", assigned, clerk_actor))
            if rejected:
                request.reject_reason = rng.choice(["illegible", "not_holder", "duplicate", "fee_unpaid"])
                history.append(("reject", "in_progress", "rejected", handled, clerk_actor))
            else:
                history.append(("issue", "in_progress", "issued", handled, clerk_actor))
                delay = {CopyKind.ELECTRONIC: 3, CopyKind.CERTIFIED: 3, CopyKind.PAPER_DESK: 50,
                         CopyKind.PAPER_POST: 70}[kind]
                delivered = handled + timedelta(hours=rng.uniform(0.2, delay))
                if delivered < now:
                    history.append(("deliver", "issued", "delivered", delivered, clerk_actor))
        for action, before, after, at, actor in history:
            request.events.append(CopyRequestEvent(action=action, from_state=before, to_state=after, at=at,
                                                   actor=actor))
            request.state = after
            if after in ("delivered", "rejected", "cancelled"):
                request.closed_at = at
        if request.state == "in_progress" and clerk is not None:
            request.assigned_to = clerk
        request.updated_at = history[-1][3]
        events_made += len(history)
        session.add(request)
        made_requests.append(request)
    session.flush()
    for request in made_requests:  # actors named before the citizens had ids
        for event in request.events:
            if event.actor == "requester":
                event.actor = f"citizen:{request.requester_id}"

    # Ratings: about half of the handled requests, mostly happy, less so when late or rejected.
    for request in made_requests:
        done = next((e for e in request.events if e.action in ("issue", "reject")), None)
        if done is None or rng.random() > 0.55:
            continue
        at = done.at + timedelta(hours=rng.uniform(1, 72))
        if at >= now:
            continue
        scale_id = "5-levels" if rng.random() < 0.7 else "3-levels"
        levels = scales.scales[scale_id].size
        mood = 0.85 - (0.35 if done.at > request.due_at else 0) - (0.4 if done.action == "reject" else 0)
        rating = Rating(copy_request_id=request.id, citizen_id=request.requester_id, unit_id=request.unit_id,
                        scale_id=scale_id, scale_levels=levels, comment=rng.choice(COMMENTS), created_at=at,
                        updated_at=at)
        for criterion in criteria:
            if criterion != "overall" and rng.random() < 0.2:
                continue
            quality = min(1.0, max(0.0, rng.gauss(mood, 0.22)))
            rating.scores.append(RatingScore(criterion=criterion, value=1 + round(quality * (levels - 1))))
        session.add(rating)
        rated += 1

    categories = load_categories()
    people = PeopleFactory(random.Random(seed + 1))
    unit_ids = sorted({r.unit_id for r in made_requests})
    made_petitions = 0
    for n in range(petitions):
        about, category, title, content = rng.choice(PETITION_TOPICS)
        offset = int(364 * rng.random() ** 0.9)
        received = _hanoi(start_day + timedelta(days=offset), rng.randint(7 * 60, 21 * 60))
        if received >= now:
            received = now - timedelta(hours=rng.randint(2, 40))
        person = people.person((datetime(1955, 1, 1).date(), datetime(2000, 12, 31).date()), hanoi_born=True)
        place = rng.random()
        unit_id = (rng.choice(sorted(favoured)) if favoured and place < 0.25 else
                   rng.choice(unit_ids) if unit_ids and place < 0.85 else None)
        age_days = (now - received).days
        classified = age_days > 1 or rng.random() < 0.5
        due = due_at(received, category if classified else categories.default, categories, calendar)
        petition = Petition(
            reference=f"PA-{received.year}-{REFERENCE_SERIAL + n + 1}", about=about.value, title=title,
            content=content,
            sender_name=person.name, sender_address="Hà Nội",
            sender_phone=f"09{rng.randint(10_000_000, 99_999_999)}",
            sender_email="", unit_id=unit_id, category=category if classified else "", received_at=received,
            due_at=due, state=PetitionState.RECEIVED.value, created_at=received, updated_at=received)
        petition.events.append(PetitionEvent(at=received, action="receive", actor="anonymous",
                                             to_unit_id=unit_id))
        staff_actor = f"staff:{staff[0].id}" if staff else "system"
        if classified:
            at = min(now, received + timedelta(hours=rng.uniform(2, 30)))
            petition.state = PetitionState.IN_PROGRESS.value
            petition.events.append(PetitionEvent(at=at, action="classify", actor=staff_actor,
                                                 note=category))
            if unit_id is not None and len(unit_ids) > 1 and rng.random() < 0.15:
                # Sent first to the wrong ward, then forwarded to the one that handles it.
                wrong = rng.choice([u for u in unit_ids if u != unit_id])
                petition.events[0].to_unit_id = wrong
                petition.events.append(PetitionEvent(at=at, action="forward", actor=staff_actor,
                                                     from_unit_id=wrong, to_unit_id=unit_id))
            fate = rng.random()
            if fate < 0.06:
                petition.state = PetitionState.DECLINED.value
                petition.answer = ("Nội dung là khiếu nại, đề nghị ông/bà gửi theo thủ tục "
                                   "giải quyết khiếu nại.")
                petition.events.append(PetitionEvent(at=at, action="decline", actor=staff_actor))
            elif fate < 0.85 and due < now + timedelta(days=20):
                late = rng.random() < 0.15
                answered = (due + timedelta(days=rng.uniform(1, 10))) if late else \
                    at + (due - at) * rng.uniform(0.2, 0.95)
                if answered < now:
                    petition.state = PetitionState.ANSWERED.value
                    petition.answer = rng.choice(ANSWERS)
                    petition.answered_at = answered
                    petition.answered_by_id = staff[0].id if staff else None
                    petition.events.append(PetitionEvent(at=answered, action="answer", actor=staff_actor))
                    if rng.random() < 0.6:
                        petition.published = True
                        petition.published_at = answered + timedelta(hours=2)
                        petition.events.append(PetitionEvent(at=petition.published_at, action="publish",
                                                             actor=staff_actor))
        session.add(petition)
        made_petitions += 1

    made_reports = 0
    for n in range(reports):
        record = rng.choice(records)
        kind = rng.choice(list(ProblemKind))
        at = now - timedelta(days=rng.uniform(1, 300))
        report = ProblemReport(
            reference=f"PB-{at.year}-{REFERENCE_SERIAL + n + 1}", record=record,
            unit_id=handling_unit_id(record), kind=kind.value,
            description=REPORT_TEXTS[kind], reporter_name=people.person(
                (datetime(1960, 1, 1).date(), datetime(1999, 1, 1).date())).name,
            reporter_email="", state=ReportState.OPEN.value, created_at=at, updated_at=at)
        if n % 3 == 1 and staff:
            report.state = ReportState.DISMISSED.value
            report.resolution_note = "Đã đối chiếu với bản gốc lưu trữ: thông tin trên cổng là đúng."
            report.resolved_by_id = staff[0].id
            report.resolved_at = at + timedelta(days=2)
        session.add(report)
        made_reports += 1
    session.flush()
    return ActivityStats(skipped=False, citizens=made_citizens, requests=len(made_requests),
                         events=events_made, ratings=rated, petitions=made_petitions, reports=made_reports)
