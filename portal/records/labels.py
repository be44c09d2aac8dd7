"""What the pages call a result's statuses (msgids; the badge colour comes from the code itself)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.records.models import ResultStatus

STATUS_LABELS = {
    ResultStatus.VALID: _l("Valid"),
    ResultStatus.EXPIRED: _l("Expired"),
    ResultStatus.REVOKED: _l("Revoked"),
    ResultStatus.REPLACED: _l("Replaced"),
    ResultStatus.ANNULLED: _l("Annulled"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
