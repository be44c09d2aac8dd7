"""Forms of the possible-duplicates list: which result to keep, and the button-only decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField


class SameForm(FlaskForm):
    # Choices are the pair's source ids, set by the view; the service refuses anything else.
    keep = RadioField(_l("Which result stays?"), validate_choice=False)


class DecisionForm(FlaskForm):
    """A button: different results, or undo a decision."""
