"""Who may read the personal fields of a result: one rule, used by every page, download and export.

- the subject of the result (a citizen account linked to that subject);
- the representatives of the organization the result is about (organization accounts);
- clerks and supervisors of the unit that holds the result now: the issuing unit itself, or a
  current commune/ward it was merged into (partial merges included). Admins manage accounts;
  they read personal data only through units they serve, like everyone else.
"""

from __future__ import annotations

from portal.identity.access import serves_unit
from portal.identity.models import Citizen, StaffUser
from portal.records.models import Record


def is_subject(actor: object | None, record: Record) -> bool:
    """The citizen the result is about, or a representative of its organization."""
    return isinstance(actor, Citizen) and record.subject_id in actor.subject_ids


def may_read_personal(actor: object | None, record: Record) -> bool:
    """Whether ``actor`` may see the personal fields and scans of ``record`` (public or not)."""
    if is_subject(actor, record):
        return True
    return isinstance(actor, StaffUser) and serves_unit(actor, record.issuing_unit)
