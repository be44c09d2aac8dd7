"""Uncatalogued procedures (met first in an import batch): the administrators' list and completing one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Forbidden, InvalidInput, NotFound
from portal.paging import Paged
from portal.procedures.models import Procedure
from portal.text import fold

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


# -- the public catalogue, for API clients (pickers) ----------------------------------------------

#: A national code as people write it: "1.001193", "1001193", "1 001193", or the full code of the
#: national portal with its agency and province part, "2.000123.000.00.00.H26".
_CODE = re.compile(r"(\d)\s*[.\s]?\s*(\d{6})(?:\.\d{3}\.\d{2}\.\d{2}\.[a-z]\d{2})?", re.IGNORECASE)
_WORD = re.compile(r"[0-9a-z]+")


def normalize_code(text: str) -> str | None:
    """The stored form "D.DDDDDD" of a national procedure code in any of its written forms, or None."""
    match = _CODE.fullmatch(text.strip())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def find_procedure(session: Session, code: str) -> Procedure | None:
    stored = normalize_code(code)
    return session.get(Procedure, stored) if stored else None


def _matches(words: list[str], *texts: str) -> bool:
    # Every typed word starts a word of the name or field, tone marks aside ("khai sinh", "ho tich").
    text_words = [w for text in texts for w in _WORD.findall(fold(text))]
    return all(any(t.startswith(w) for t in text_words) for w in words)


def list_procedures(session: Session, *, q: str = "", field: str = "", level: str = "", page: int = 1,
                    per_page: int = 50) -> ProcedureList:
    """Procedures by code, catalogued or met first in an import batch (their results exist too).

    ``q``: a national code (any written form) or words of the name or field; ``field``: the field's
    name, tone marks and case aside. Folded here: a catalogue has hundreds of procedures, not more.
    Two statements, whatever ``per_page``."""
    start = (max(page, 1) - 1) * per_page
    code = normalize_code(q)
    words = [] if code else _WORD.findall(fold(q))
    conditions = [Procedure.level == level] if level else []
    if code:
        conditions.append(Procedure.code == code)
    query = select(Procedure).where(*conditions)
    if words or field:
        wanted = fold(field).strip()
        candidates = session.execute(select(Procedure.code, Procedure.name, Procedure.field)
                                     .where(*conditions).order_by(Procedure.code))
        found = [code for code, name, its_field in candidates
                 if (not field or fold(its_field).strip() == wanted) and _matches(words, name, its_field)]
        total, page_codes = len(found), found[start:start + per_page]
        items = list(session.scalars(select(Procedure).where(Procedure.code.in_(page_codes))
                                     .order_by(Procedure.code))) if page_codes else []
    else:
        total = session.scalar(select(func.count()).select_from(Procedure).where(*conditions)) or 0
        items = list(session.scalars(query.order_by(Procedure.code).offset(start).limit(per_page))) \
            if start < total else []
    return ProcedureList(total=total, items=items, page=page, per_page=per_page)


def list_fields(session: Session) -> list[str]:
    """The fields of the catalogue, for a client's filter list."""
    return sorted(session.scalars(select(Procedure.field).where(Procedure.field != "").distinct()), key=fold)
