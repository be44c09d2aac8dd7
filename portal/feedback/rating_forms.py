"""The rating form: one group of radio buttons per configured criterion, on one configured scale.

The fields come from the scales file, so the form class is built per scale and language
(`rating_form`). Field names are ``score_<criterion id>``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from portal.feedback import ratings

PREFIX = "score_"


class RatingForm(FlaskForm):
    scale = HiddenField()
    comment = TextAreaField(_l("Comment (optional)"), validators=[Length(
        max=ratings.MAX_COMMENT, message=_l("The comment must be at most %(max)s characters.",
                                            max=ratings.MAX_COMMENT))])

    #: (criterion, field) pairs in the configured order; set by `rating_form`.
    criteria: list = []

    def scores(self) -> dict[str, str | None]:
        return {criterion.id: field.data for criterion, field in self.criterion_fields()}

    def criterion_fields(self):
        return [(criterion, self[PREFIX + criterion.id]) for criterion in self.criteria]

    def add_errors(self, errors: dict) -> None:
        """Messages of ratings.InvalidRating, put on the fields they are about."""
        for name, message in errors.items():
            field = self._fields.get(name) or self._fields.get(PREFIX + name) or self.comment
            field.errors = [*field.errors, message]


def rating_form(scales: ratings.RatingScales, scale: ratings.Scale, lang: str, rating=None,
                **kwargs) -> RatingForm:
    """The form for ``scale``, labels in ``lang``; on a GET, prefilled from an existing ``rating``
    (never pass it on a POST: the stored answers would fill the questions left blank)."""
    values = [str(n) for n in range(1, scale.size + 1)]
    options = [SelectChoice(v, level.text(lang)) for v, level in zip(values, scale.levels, strict=True)]
    fields = {}
    for criterion in scales.criteria:
        # Our own messages: WTForms' "Not a valid choice" has no Vietnamese translation.
        check = [AnyOf(values, message=_l("Choose one of the %(levels)s answers offered.",
                                          levels=scale.size))]
        required = (InputRequired(_l("Choose an answer for this question.")) if criterion.required
                    else Optional())
        fields[PREFIX + criterion.id] = RadioField(
            criterion.label.text(lang), choices=options, validate_choice=False,
            validators=[required, *check])
    form_class = type("ScaleRatingForm", (RatingForm,), {**fields, "criteria": list(scales.criteria)})
    if rating is not None:
        kwargs.setdefault("data", {"comment": rating.comment,
                                   **{PREFIX + s.criterion: str(s.value) for s in rating.scores}})
    form = form_class(**kwargs)
    if not form.scale.data:
        form.scale.data = scale.id
    return form
