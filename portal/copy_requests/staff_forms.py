"""Forms of the staff workbench: the queue's filters (GET, no CSRF) and the actions (POST, CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.copy_requests.models import CopyKind
from portal.copy_requests.processing import QUEUE_TABS, REASONS_NEEDING_NOTE, REJECT_REASONS, QueueFilters
from portal.copy_requests.workflow import State

STATE_LABELS = {
    State.SUBMITTED.value: _l("Received"),
    State.IN_PROGRESS.value: _l("In progress"),
    State.ISSUED.value: _l("Copy issued"),
    State.DELIVERED.value: _l("Delivered"),
    State.REJECTED.value: _l("Rejected"),
    State.CANCELLED.value: _l("Cancelled"),
}
TAB_LABELS = {"open": _l("To do"), **STATE_LABELS, "all": _l("All")}
KIND_LABELS = {
    CopyKind.ELECTRONIC.value: _l("Electronic copy from the master register"),
    CopyKind.CERTIFIED.value: _l("Certified electronic copy"),
    CopyKind.PAPER_DESK.value: _l("Paper copy, collected at the desk"),
    CopyKind.PAPER_POST.value: _l("Paper copy, sent by post"),
}
ASSIGNEE_LABELS = {"": _l("Anyone"), "me": _l("Assigned to me"), "unassigned": _l("Not assigned yet")}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class QueueFilterForm(Form):
    """The queue's query string. Unknown values fall back to the defaults, never an error page."""

    state = SelectField(_l("Status"), choices=[SelectChoice(tab, TAB_LABELS[tab]) for tab in QUEUE_TABS],
                        default="open")
    kind = SelectField(_l("Kind of copy"), choices=_choices({"": _l("Every kind"), **KIND_LABELS}),
                       default="")
    assignee = SelectField(_l("Assigned"), choices=_choices(ASSIGNEE_LABELS), default="")
    overdue = BooleanField(_l("Overdue only"))
    page = IntegerField(default=1, validators=[Optional()])

    def filters(self) -> QueueFilters:
        try:
            page = int(self.page.raw_data[0]) if self.page.raw_data else 1
        except (TypeError, ValueError):
            page = 1
        return QueueFilters(state=self.state.data or "open", kind=self.kind.data or "",
                            overdue=bool(self.overdue.data), assignee=self.assignee.data or "",
                            page=page).normalized()


class WorkflowForm(FlaskForm):
    """A button on a request: the CSRF token and the state the page showed (a page opened before a
    colleague acted is told so instead of acting on a request it no longer shows as it is)."""

    seen_state = HiddenField(validators=[DataRequired()])


def _staff_id(value) -> int | None:
    return int(value) if str(value).isdecimal() else None


class AssignForm(WorkflowForm):
    #: Supervisors only: whom to give it to (absent: themselves). The service checks that the
    #: person serves the request's unit, so the choice list need not be trusted.
    assignee = SelectField(_l("Assign to"), coerce=_staff_id, validate_choice=False, choices=[])


class DeliverForm(WorkflowForm):
    tracking_number = StringField(_l("Postal tracking number"), validators=[Optional(), Length(max=60)],
                                  render_kw={"autocomplete": "off", "spellcheck": "false"})


class RejectForm(WorkflowForm):
    reason = RadioField(_l("Reason"), choices=_choices(REJECT_REASONS),
                        validators=[DataRequired(message=_l("Choose a reason."))])
    note = TextAreaField(_l("Explanation for the requester"), validators=[Length(max=1000)],
                         render_kw={"rows": 3})

    def validate_note(self, field):
        if self.reason.data in REASONS_NEEDING_NOTE and not (field.data or "").strip():
            raise ValidationError(_l("Explain the reason: the requester will read it."))
