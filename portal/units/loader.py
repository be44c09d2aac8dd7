"""Loads units and the official old→new table from `vietnam-provinces` into the database.

The package is GPL-3.0; we import it only here, at sync time, and keep its data in our own
tables, so the running portal reads units from the database like any other record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.units.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem
from portal.units.services import normalize_code


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    links: int


def _slug(codename: str) -> str:
    return codename.replace("_", "-")


def sync_units(session: Session, province_codes: tuple[int, ...] = (1,)) -> SyncReport:
    """Create or update every unit of the given provinces, old and new, and their successions.

    Idempotent: running it again changes nothing.
    """
    from vietnam_provinces import Province, ProvinceCode, Ward
    from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW
    from vietnam_provinces.legacy import District as LegacyDistrict
    from vietnam_provinces.legacy import Province as LegacyProvince
    from vietnam_provinces.legacy import ProvinceCode as LegacyProvinceCode
    from vietnam_provinces.legacy import Ward as LegacyWard

    existing = {(u.system, u.level, u.code): u for u in session.scalars(select(AdminUnit))}
    counts = {"created": 0, "updated": 0}

    def upsert(system, level, code, name, slug, division_type, province_code, parent=None) -> AdminUnit:
        key = (system, level, normalize_code(code, level))
        values = dict(name=name, slug=slug, division_type=str(division_type),
                      province_code=normalize_code(province_code, "province"), parent=parent)
        unit = existing.get(key)
        if unit is None:
            unit = AdminUnit(system=system, level=level, code=key[2], **values)
            session.add(unit)
            existing[key] = unit
            counts["created"] += 1
        elif any(getattr(unit, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(unit, k, v)
            counts["updated"] += 1
        return unit

    links: dict[tuple[AdminUnit, AdminUnit], bool] = {}
    for pcode in province_codes:
        province = Province.from_code(ProvinceCode(pcode))
        new_province = upsert(UnitSystem.CURRENT, UnitLevel.PROVINCE, pcode, province.name,
                              _slug(province.codename), province.division_type, pcode)
        new_by_code = {}
        for ward in Ward.iter_by_province(ProvinceCode(pcode)):
            new_by_code[int(ward.code)] = upsert(
                UnitSystem.CURRENT, UnitLevel.COMMUNE, int(ward.code), ward.name, _slug(ward.codename),
                ward.division_type, pcode, new_province)

        legacy_province = LegacyProvince.from_code(LegacyProvinceCode(pcode))
        old_province = upsert(UnitSystem.LEGACY, UnitLevel.PROVINCE, pcode, legacy_province.name,
                              _slug(legacy_province.codename), legacy_province.division_type, pcode)
        links[(old_province, new_province)] = False
        districts = {}
        for district in LegacyDistrict.iter_by_province(LegacyProvinceCode(pcode)):
            districts[int(district.code)] = upsert(
                UnitSystem.LEGACY, UnitLevel.DISTRICT, int(district.code), district.name,
                _slug(district.codename), district.division_type, pcode, old_province)

        seen_slugs: set[str] = set()
        for ward in LegacyWard.iter_by_province(LegacyProvinceCode(pcode)):
            district = districts[int(ward.district_code)]
            slug = _slug(ward.codename)
            if slug in seen_slugs:  # "xa-tan-lap" exists in several old districts
                slug = f"{slug}-{district.slug}"
            seen_slugs.add(slug)
            old = upsert(UnitSystem.LEGACY, UnitLevel.COMMUNE, int(ward.code), ward.name, slug,
                         ward.division_type, pcode, district)
            entry = OLD_TO_NEW.get(int(ward.code))
            if entry is None:
                continue
            for new_ref in entry.new_wards:
                new = new_by_code.get(new_ref.code)
                if new is None:
                    continue
                links[(old, new)] = entry.old_ward.is_partly_merged
                # A district went wholly into none of the new communes: each of its links is partial.
                links[(district, new)] = True

    session.flush()
    current = {(s.old_unit_id, s.new_unit_id): s for s in session.scalars(select(UnitSuccession))}
    added = 0
    position: dict[int, int] = {}
    for (old, new), partial in links.items():
        pos = position.get(old.id, 0)
        position[old.id] = pos + 1
        link = current.get((old.id, new.id))
        if link is None:
            session.add(UnitSuccession(old_unit_id=old.id, new_unit_id=new.id, partial=partial, position=pos))
            added += 1
        elif link.partial != partial or link.position != pos:
            link.partial, link.position = partial, pos
    session.flush()
    return SyncReport(created=counts["created"], updated=counts["updated"], links=added)
