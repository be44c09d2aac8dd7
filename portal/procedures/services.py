"""Uncatalogued procedures (met first in an import batch): the administrators' list and completing one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Forbidden, InvalidInput, NotFound
from portal.paging import Paged
from portal.procedures.models import Procedure

LEVELS = ("commune", "province")
ACCESS = ("personal", "public")


@dataclass(frozen=True)
class ProcedureList(Paged):
    total: int
    items: list[Procedure]
    page: int
    per_page: int


def _admin(staff) -> None:
    # Reference data is the administrators' (the staff guard asks the same; a call from elsewhere too).
    if staff is None or not staff.active or staff.role != "admin":
        raise Forbidden()


def list_uncatalogued(session: Session, staff, page: int = 1, per_page: int = 25) -> ProcedureList:
    """Procedures created by imports and not completed yet, by code. Raises Forbidden."""
    _admin(staff)
    where = Procedure.catalogued.is_(False)
    total = session.scalar(select(func.count()).select_from(Procedure).where(where)) or 0
    items = list(session.scalars(select(Procedure).where(where).order_by(Procedure.code)
                                 .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    return ProcedureList(total=total, items=items, page=page, per_page=per_page)


def get_uncatalogued(session: Session, staff, code: str) -> Procedure:
    """Raises Forbidden, NotFound (also for a catalogued procedure: the catalogue owns those)."""
    _admin(staff)
    procedure = session.get(Procedure, code)
    if procedure is None or procedure.catalogued:
        raise NotFound()
    return procedure


def complete(session: Session, staff, procedure: Procedure, *, name: str, field: str, level: str,
             result_doc_type: str, notation: str, access: str) -> bool:
    """Fill in an uncatalogued procedure; it is catalogued from now on. Returns whether its name
    changed (its results' search documents show it). Raises Forbidden, InvalidInput(field name)."""
    _admin(staff)
    values = {"name": name.strip(), "field": field.strip(), "level": level, "result_doc_type": result_doc_type.strip(),
              "notation": notation.strip(), "access": access}
    limits = {"name": 400, "field": 200, "result_doc_type": 100, "notation": 30}
    for key in ("name", "field"):
        if not values[key]:
            raise InvalidInput(key)
    for key, limit in limits.items():
        if len(values[key]) > limit:
            raise InvalidInput(key)
    if level not in LEVELS:
        raise InvalidInput("level")
    if access not in ACCESS:
        raise InvalidInput("access")
    renamed = procedure.name != values["name"]
    before = {key: getattr(procedure, key) for key in values}
    for key, value in values.items():
        setattr(procedure, key, value)
    procedure.catalogued = True
    audit.record(session, staff.audit_name, "procedures.complete", f"procedure:{procedure.code}",
                 details={"before": before, "after": values})
    session.flush()
    return renamed
