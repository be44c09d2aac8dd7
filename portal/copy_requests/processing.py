"""The one-stop-shop side of copy requests: the queue of a clerk's units, opening a request,
assigning, issuing, delivering and rejecting.

Every function takes the session and the staff member acting, checks that they serve the
request's unit, changes state only through `events.transition`, flushes and never commits.

Two clerks pressing "issue" at once must not issue twice: each state change first *claims* the
request with a compare-and-set UPDATE (``WHERE id = … AND state = <the state it was read in>``).
The second claim matches no row — on PostgreSQL it waits for the first transaction's row lock,
then re-reads the committed state — and raises `AlreadyProcessed` before anything is signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import casework
from portal.casework import WORKING_ROLES
from portal.casework import AlreadyProcessed as AlreadyProcessed  # raised by the actions below
from portal.copy_requests import due_dates, events, workflow
from portal.copy_requests.models import CopyKind, CopyRequest, IssuedCopy
from portal.copy_requests.workflow import Action, State
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound
from portal.identity.models import StaffRole, StaffUser, staff_unit
from portal.paging import Paged, page_count
from portal.records import access_log

#: Why a request can be refused: code → label. Codes are stored in `CopyRequest.reject_reason`.
REJECT_REASONS = {
    "not_holder": _l("The requester is not the holder of the result or entitled to it"),
    "not_digitized": _l("The result is not digitized yet"),
    "illegible": _l("The scan is illegible or incomplete"),
    "duplicate": _l("Duplicate of another request"),
    "fee_unpaid": _l("The fee has not been paid"),
    "other": _l("Other reason (explain below)"),
}
#: Reasons that mean nothing without a sentence from the clerk.
REASONS_NEEDING_NOTE = frozenset({"other"})
PAPER_KINDS = frozenset({CopyKind.PAPER_DESK, CopyKind.PAPER_POST})

#: Queue tabs: "open" (submitted or in progress, the default) and "all" besides each state.
QUEUE_TABS = ("open", *(state.value for state in State), "all")


class NotAllowed(Forbidden):
    """This staff member may not take this action on this request now; ``str()`` is a reason code:
    ``not_assignee``, ``reassign_supervisor``, ``electronic_delivery``, ``assignee``."""


# -- scope ---------------------------------------------------------------------------------------


def serves_request(staff: StaffUser, request: CopyRequest) -> bool:
    return request.unit_id in casework.unit_ids(staff)


def _require_serves(staff: StaffUser, request: CopyRequest) -> None:
    if not serves_request(staff, request):
        raise Forbidden("unit")


# -- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    #: A tab of QUEUE_TABS.
    state: str = "open"
    #: A CopyKind value, or "" for every kind.
    kind: str = ""
    overdue: bool = False
    #: "me" (assigned to the viewer), "unassigned", or "" for anyone.
    assignee: str = ""
    page: int = 1

    def normalized(self) -> QueueFilters:
        """The same filters with every unknown value dropped (a bad query string is never an error)."""
        return QueueFilters(
            state=self.state if self.state in QUEUE_TABS else "open",
            kind=self.kind if self.kind in {k.value for k in CopyKind} else "",
            overdue=bool(self.overdue),
            assignee=self.assignee if self.assignee in ("me", "unassigned") else "",
            page=self.page if isinstance(self.page, int) and 1 <= self.page <= 10_000 else 1)


@dataclass(frozen=True)
class QueueRow:
    request: CopyRequest
    overdue: bool


@dataclass(frozen=True)
class QueuePage(Paged):
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    filters: QueueFilters
    #: Requests per tab (QUEUE_TABS), with the other filters applied.
    counts: dict[str, int] = field(default_factory=dict)
    #: Open requests past their due time in the staff member's units, whatever the filters.
    overdue: int = 0



def _state_clause(tab: str):
    if tab == "open":
        return CopyRequest.state.in_([s.value for s in workflow.OPEN])
    if tab == "all":
        return None
    return CopyRequest.state == tab


def list_queue(session: Session, staff: StaffUser, filters: QueueFilters, *, now: datetime | None = None,
               per_page: int = 25) -> QueuePage:
    """The requests of the units ``staff`` serves, most urgent (earliest due) first."""
    now = now or utcnow()
    filters = filters.normalized()
    units = casework.unit_ids(staff)
    if not units:
        return QueuePage([], 0, 1, per_page, filters, dict.fromkeys(QUEUE_TABS, 0), 0)
    scope = [CopyRequest.unit_id.in_(units)]
    if filters.kind:
        scope.append(CopyRequest.kind == filters.kind)
    if filters.overdue:
        scope.append(due_dates.overdue_clause(now))
    if filters.assignee == "me":
        scope.append(CopyRequest.assigned_to_id == staff.id)
    elif filters.assignee == "unassigned":
        scope.append(CopyRequest.assigned_to_id.is_(None))

    by_state = dict(session.execute(select(CopyRequest.state, func.count()).where(*scope)
                                    .group_by(CopyRequest.state)).all())
    counts = {state.value: by_state.get(state.value, 0) for state in State}
    counts["open"] = sum(counts[s.value] for s in workflow.OPEN)
    counts["all"] = sum(by_state.values())

    where = list(scope)
    state_clause = _state_clause(filters.state)
    if state_clause is not None:
        where.append(state_clause)
    total = counts[filters.state]
    page = filters.page if filters.page <= page_count(total, per_page) else 1
    requests = session.scalars(
        select(CopyRequest).where(*where)
        .options(selectinload(CopyRequest.record), selectinload(CopyRequest.requester),
                 selectinload(CopyRequest.assigned_to))
        .order_by(CopyRequest.due_at, CopyRequest.id)
        .offset((page - 1) * per_page).limit(per_page)).all()
    rows = [QueueRow(request=r, overdue=due_dates.is_overdue(r, now)) for r in requests]
    return QueuePage(rows, total, page, per_page, filters, counts, count_overdue(session, staff, now=now))


def count_overdue(session: Session, staff: StaffUser, *, now: datetime | None = None) -> int:
    """Open requests past their due time in the units ``staff`` serves (the dashboard's warning)."""
    units = casework.unit_ids(staff)
    if not units:
        return 0
    return session.scalar(select(func.count()).select_from(CopyRequest).where(
        CopyRequest.unit_id.in_(units), due_dates.overdue_clause(now or utcnow()))) or 0


# -- one request ---------------------------------------------------------------------------------


def get_for_staff(session: Session, staff: StaffUser, reference: str) -> CopyRequest:
    """The request ``reference`` if ``staff`` serves its unit, read fresh from the database.

    Raises NotFound for an unknown reference and for another unit's request alike (a 403 would
    confirm that the reference exists).
    """
    request = session.scalar(select(CopyRequest).where(CopyRequest.reference == reference.strip().upper())
                             .execution_options(populate_existing=True))
    if request is None or not serves_request(staff, request):
        raise NotFound()
    return request


def open_request(session: Session, staff: StaffUser, reference: str) -> CopyRequest:
    """`get_for_staff`, logged as a look at the result's personal data (the holder sees it in
    their access log). Raises NotFound."""
    request = get_for_staff(session, staff, reference)
    access_log.record_access(session, staff, request.record, "record.view", channel="web",
                             purpose=f"xử lý yêu cầu bản sao {request.reference}", personal_data=True,
                             details={"copy_request": request.reference})
    return request


def is_assignee(staff: StaffUser, request: CopyRequest) -> bool:
    return request.assigned_to_id == staff.id


def _may_work_on(staff: StaffUser, request: CopyRequest) -> bool:
    """Issue, reject or deliver: the clerk it is assigned to, or a supervisor of the unit."""
    return staff.role == StaffRole.SUPERVISOR or request.assigned_to_id in (None, staff.id)


def allowed_actions(staff: StaffUser, request: CopyRequest) -> list[Action]:
    """The buttons ``staff`` gets on ``request`` now: the state machine's actions, less the
    requester's own (cancel), reassignment for clerks, work on a colleague's request, and the
    delivery step of electronic copies (the requester's download delivers them)."""
    if not serves_request(staff, request):
        return []
    actions = []
    for action in workflow.allowed_actions(request.state):
        if action in workflow.BY_REQUESTER:
            continue
        if action == Action.ASSIGN and request.state == State.IN_PROGRESS \
                and staff.role != StaffRole.SUPERVISOR:
            continue
        if action == Action.DELIVER and request.kind not in PAPER_KINDS:
            continue
        if action in (Action.ISSUE, Action.REJECT, Action.DELIVER) and not _may_work_on(staff, request):
            continue
        actions.append(action)
    return actions


def list_assignees(session: Session, request: CopyRequest) -> list[StaffUser]:
    """Active clerks and supervisors serving the request's unit: whom a supervisor may assign it to."""
    return list(session.scalars(
        select(StaffUser).join(staff_unit, staff_unit.c.staff_id == StaffUser.id)
        .where(staff_unit.c.unit_id == request.unit_id, StaffUser.active.is_(True),
               StaffUser.role.in_([r.value for r in WORKING_ROLES]))
        .order_by(StaffUser.full_name, StaffUser.id)))


def _claim(session: Session, request: CopyRequest, action: Action, now: datetime) -> None:
    """Check the transition, then compare-and-set on the state read: raises InvalidTransition
    when the state machine refuses, AlreadyProcessed when another transaction got there first."""
    workflow.next_state(workflow.State(request.state), action)
    # The assignee as read too: two supervisors reassigning at once, or a reassignment between a
    # clerk's page and their click, must not both go through.
    casework.claim(session, request, now, "assigned_to_id")


def assign(session: Session, staff: StaffUser, request: CopyRequest, assignee: StaffUser | None = None, *,
           now: datetime | None = None):
    """Assign ``request`` to ``assignee`` (default: ``staff`` themselves); a request in progress
    only by a supervisor. Raises Forbidden, NotAllowed, InvalidInput, InvalidTransition,
    AlreadyProcessed."""
    _require_serves(staff, request)
    now = now or utcnow()
    assignee = assignee or staff
    if assignee.id != staff.id and staff.role != StaffRole.SUPERVISOR:
        raise NotAllowed("reassign_supervisor")
    if request.state == State.IN_PROGRESS and staff.role != StaffRole.SUPERVISOR:
        raise NotAllowed("reassign_supervisor")
    if not serves_request(assignee, request):
        raise InvalidInput("assignee")
    if request.state == State.IN_PROGRESS and request.assigned_to_id == assignee.id:
        raise NotAllowed("assignee")
    _claim(session, request, Action.ASSIGN, now)
    request.assigned_to = assignee
    note = "" if assignee.id == staff.id else assignee.full_name
    return events.transition(session, request, Action.ASSIGN, staff.audit_name, note=note, at=now)


def issue(session: Session, staff: StaffUser, request: CopyRequest, *,
          now: datetime | None = None) -> IssuedCopy:
    """Make, sign and store the copy (`signing.issue_copy`), then move the request to "issued".

    Raises Forbidden, NotAllowed, InvalidTransition, AlreadyProcessed (nothing is signed then).
    """
    from portal.copy_requests import signing

    _require_serves(staff, request)
    if not _may_work_on(staff, request):
        raise NotAllowed("not_assignee")
    now = now or utcnow()
    _claim(session, request, Action.ISSUE, now)
    copy = signing.issue_copy(session, request, staff, now)
    events.transition(session, request, Action.ISSUE, staff.audit_name, at=now)
    return copy


def deliver(session: Session, staff: StaffUser, request: CopyRequest, *, tracking_number: str = "",
            now: datetime | None = None):
    """A paper copy handed over at the desk, or posted (``tracking_number`` required).

    Raises Forbidden, NotAllowed (electronic kinds: the download delivers them), InvalidInput
    ("tracking_number"), InvalidTransition, AlreadyProcessed.
    """
    _require_serves(staff, request)
    if request.kind not in PAPER_KINDS:
        raise NotAllowed("electronic_delivery")
    if not _may_work_on(staff, request):
        raise NotAllowed("not_assignee")
    tracking_number = " ".join((tracking_number or "").split())
    if request.kind == CopyKind.PAPER_POST and not tracking_number:
        raise InvalidInput("tracking_number")
    now = now or utcnow()
    _claim(session, request, Action.DELIVER, now)
    if request.kind == CopyKind.PAPER_POST:
        request.tracking_number = tracking_number[:60]
    return events.transition(session, request, Action.DELIVER, staff.audit_name,
                             note=request.tracking_number, at=now)


def reject(session: Session, staff: StaffUser, request: CopyRequest, reason: str, note: str = "", *,
           now: datetime | None = None):
    """Refuse the request with a reason code from REJECT_REASONS and free text (required for
    "other"). Raises Forbidden, NotAllowed, InvalidInput ("reason" or "note"), InvalidTransition,
    AlreadyProcessed."""
    _require_serves(staff, request)
    if not _may_work_on(staff, request):
        raise NotAllowed("not_assignee")
    if reason not in REJECT_REASONS:
        raise InvalidInput("reason")
    note = (note or "").strip()
    if reason in REASONS_NEEDING_NOTE and not note:
        raise InvalidInput("note")
    now = now or utcnow()
    _claim(session, request, Action.REJECT, now)
    request.reject_reason, request.reject_note = reason, note
    return events.transition(session, request, Action.REJECT, staff.audit_name, note=note, at=now)



def timeline(session: Session, request: CopyRequest) -> list[casework.TimelineRow]:
    """The request's events, oldest first, with who acted: a colleague by name, the requester, or
    the system."""
    def other(kind: str) -> tuple[str, str]:
        if kind == "citizen":
            return (request.requester.name if request.requester else "", "requester")
        return ("", "system")

    return casework.timeline(session, request.events, other)
