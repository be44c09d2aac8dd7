"""The staff-login guard every blueprint under /staff uses: ``bp.before_request(staff_guard())``.

Protection is structural: a blueprint guards all its routes at once, so a new view cannot forget
it (tests/identity/test_staff_routes_guarded.py walks the URL map to prove it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, request, url_for

from portal.identity import current_staff


def refusal(*roles: str):
    """What to answer instead of the page, or None when a staff member with one of ``roles`` (any
    role when empty) is logged in: the staff login page for anyone else, 403 for a wrong role."""
    staff = current_staff()
    if staff is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("staff.login", next=target))
    if roles and staff.role not in roles:
        abort(403)
    return None


def staff_guard(*roles: str) -> Callable[[], object]:
    """A before_request hook for a whole blueprint."""
    return lambda: refusal(*roles)


def staff_required(*roles: str):
    """The same check on one view, for a staff page outside a guarded blueprint."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return refusal(*roles) or view(*args, **kwargs)

        return wrapper

    return decorate
