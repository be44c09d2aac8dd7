"""Builders for search tests: real records in the test database, units and procedures from refdata."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from sqlalchemy import select

from portal.identity.models import Subject
from portal.procedures.models import Procedure
from portal.records.models import Record
from portal.text import ident_key
from portal.units.models import AdminUnit

TODAY = date(2025, 11, 3)


def get_unit(session, code: str, system: str = "legacy", level: str = "commune") -> AdminUnit:
    return session.scalars(select(AdminUnit).where(
        AdminUnit.code == code, AdminUnit.system == system, AdminUnit.level == level)).one()


@pytest.fixture
def make_record(db_session):
    """make_record(**fields) → a committed Record; sensible defaults for every required field."""
    counter = itertools.count(1)
    procedure = db_session.scalars(select(Procedure).order_by(Procedure.code)).first()

    def build(*, unit: AdminUnit | None = None, holder: str = "Nguyễn Thị Lan", id_number: str | None = None,
              commit: bool = True, **fields) -> Record:
        n = next(counter)
        subject = Subject(kind="individual", id_number=id_number or f"0010850{n:05}", name=holder)
        values = dict(
            source_id=f"HN-TEST-{n:06}", procedure_code=procedure.code, doc_type_name="Giấy phép xây dựng",
            doc_number=str(100 + n), doc_notation="GPXD", issued_date=date(2019, 5, 14),
            issuer_name="Ủy ban nhân dân quận Cầu Giấy", summary="Cấp phép xây dựng nhà ở riêng lẻ",
            valid_from=date(2019, 5, 14), valid_to=None, status="valid", access="public",
            dossier_code=f"000.20.05.H26-190502-{n:04}", content_hash=f"{n:064}",
        )
        values.update(fields)
        record = Record(**values, subject=subject, issuing_unit=unit or get_unit(db_session, "00160"))
        record.number_key = ident_key(record.number_display)
        record.dossier_key = ident_key(record.dossier_code) if record.dossier_code else None
        db_session.add(record)
        db_session.flush()
        if commit:
            db_session.commit()
        return record

    return build
