"""Forms of the citizens' login pages (the staff's are in staff_forms.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class LogoutForm(FlaskForm):
    """No fields: the CSRF token is what matters (a cross-site POST cannot log anyone out)."""
