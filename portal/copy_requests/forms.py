"""Forms of the public pages: the request (with its fee recomputed on the server), cancel, track,
and the verification of a copy (by code or upload)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.copy_requests import services
from portal.copy_requests.models import CopyKind
from portal.copy_requests.workflow import State
from portal.tracking import valid_email

#: A request's state and steps as the requester reads them (its pages, and the tracking API in both
#: languages).
STATE_LABELS = {
    State.SUBMITTED: _l("Received"),
    State.IN_PROGRESS: _l("Being processed"),
    State.ISSUED: _l("Copy issued"),
    State.DELIVERED: _l("Delivered"),
    State.REJECTED: _l("Refused"),
    State.CANCELLED: _l("Cancelled"),
}
EVENT_LABELS = {
    "submit": _l("Request received"),
    "assign": _l("Taken up by an officer of the one-stop desk"),
    "issue": _l("Copy issued"),
    "deliver": _l("Copy delivered"),
    "reject": _l("Request refused"),
    "cancel": _l("Request cancelled"),
}
#: Kind → (name, explanation), in the order offered.
KIND_CHOICES = {
    CopyKind.ELECTRONIC: (_l("Electronic copy from the master register"),
                          _l("A PDF issued from the register and signed digitally by the unit. Valid for "
                             "online procedures; anyone can check it on this portal.")),
    CopyKind.CERTIFIED: (_l("Certified electronic copy"),
                         _l("A PDF certified as a true copy of the original (chứng thực), signed "
                            "digitally. Fee per page as Circular 226/2016/TT-BTC sets.")),
    CopyKind.PAPER_DESK: (_l("Paper copy, collected at the one-stop desk"),
                          _l("A printed, stamped copy you collect at the one-stop desk of the unit "
                             "handling the result.")),
    CopyKind.PAPER_POST: (_l("Paper copy, sent by public post"),
                          _l("A printed, stamped copy sent by public post to the address you give.")),
}


def _email(form, field) -> None:
    if field.data and not valid_email(field.data.strip()):
        raise ValidationError(_l("Enter an e-mail address such as ten@example.vn."))


def _address_for_post(form, field) -> None:
    if form.kind.data == CopyKind.PAPER_POST and not (field.data or "").strip():
        raise ValidationError(_l("Enter the address the copy should be posted to."))


class CopiesField(IntegerField):
    """A whole number; anything else reads as no number, so the message is ours (WTForms' own
    messages have no Vietnamese translation)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class CopyRequestForm(FlaskForm):
    kind = RadioField(_l("Kind of copy"),
                      choices=[SelectChoice(k.value, label) for k, (label, _) in KIND_CHOICES.items()],
                      default=CopyKind.ELECTRONIC.value, validate_choice=False,
                      validators=[InputRequired(_l("Choose the kind of copy.")),
                                  AnyOf([k.value for k in CopyKind], _l("Choose the kind of copy."))])
    copies = CopiesField(_l("Number of copies"), default=1, validators=[
        InputRequired(_l("Enter the number of copies, from 1 to 10.")),
        NumberRange(1, services.MAX_COPIES, _l("Enter the number of copies, from 1 to 10."))])
    purpose = TextAreaField(_l("Purpose"), validators=[
        DataRequired(_l("Say what the copy is for.")),
        Length(max=services.MAX_PURPOSE, message=_l("The purpose must be at most 300 characters."))])
    delivery_address = TextAreaField(_l("Delivery address"), validators=[
        _address_for_post, Length(max=services.MAX_ADDRESS, message=_l("The address is too long."))])
    email = StringField(_l("E-mail"), validators=[
        Optional(), _email, Length(max=200, message=_l("The e-mail address is too long."))])

    def data_for_service(self) -> services.RequestData:
        return services.RequestData(kind=self.kind.data, copies=self.copies.data,
                                    purpose=self.purpose.data or "",
                                    delivery_address=self.delivery_address.data or "",
                                    email=(self.email.data or "").strip())

    def quote_inputs(self) -> tuple[str, int]:
        """The kind and number of copies to price, valid or not (a wrong number prices one copy)."""
        kind = self.kind.data if self.kind.data in {k.value for k in CopyKind} else CopyKind.ELECTRONIC.value
        copies = self.copies.data if isinstance(self.copies.data, int) and \
            1 <= self.copies.data <= services.MAX_COPIES else 1
        return kind, copies


class CancelForm(FlaskForm):
    """A button only: the CSRF token is the whole form."""


class TrackForm(FlaskForm):
    reference = StringField(_l("Reference number"), validators=[
        DataRequired(_l("Enter the reference number, such as BS-2026-000123.")), Length(max=40)])
    code = StringField(_l("Tracking code"), validators=[
        DataRequired(_l("Enter the tracking code from the e-mail.")), Length(max=40)])


# -- verification of a copy (/verify) --------------------------------------------------------------


class CodeForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form

    code = StringField(_l("Verification code printed on the copy"))


class UploadForm(FlaskForm):
    class Meta:
        # POST /verify is exempt from CSRF: it changes nothing for the visitor (it only appends to the
        # holder's access log), and other tools upload copies to it without a form of ours.
        csrf = False

    file = FileField(_l("PDF file of the copy"))
