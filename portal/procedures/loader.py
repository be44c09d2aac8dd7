"""Loads the curated list of national procedures shipped in data/procedures.csv."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.procedures.models import Procedure

DATA_FILE = Path(__file__).parent / "data" / "procedures.csv"
FIELDS = ("name", "field", "level", "result_doc_type", "notation", "access")


def read_procedures(path: Path = DATA_FILE) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row.get("code")]


def sync_procedures(session: Session, path: Path = DATA_FILE) -> tuple[int, int]:
    """Create or update every listed procedure; returns (created, updated). Idempotent."""
    existing = {p.code: p for p in session.scalars(select(Procedure))}
    created = updated = 0
    for row in read_procedures(path):
        values = {name: (row.get(name) or "").strip() for name in FIELDS}
        procedure = existing.get(row["code"].strip())
        if procedure is None:
            session.add(Procedure(code=row["code"].strip(), **values))
            created += 1
        elif any(getattr(procedure, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(procedure, k, v)
            updated += 1
    session.flush()
    return created, updated
