"""Administrative units as they are now and as they were before 1 July 2025."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base


class UnitSystem(StrEnum):
    LEGACY = "legacy"  # before 1 July 2025: province → district → commune
    CURRENT = "current"  # since 1 July 2025: province → commune (districts abolished)


class UnitLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class AdminUnit(Base):
    __tablename__ = "admin_unit"
    __table_args__ = (UniqueConstraint("system", "level", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(10))
    #: Statistics-office code, zero-padded (5 digits for communes, 3 for districts, 2 for provinces).
    code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(120))
    #: URL slug, unique within its system ("phuong-cau-giay").
    slug: Mapped[str] = mapped_column(String(140), index=True)
    division_type: Mapped[str] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(String(2))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id])
    successor_links: Mapped[list[UnitSuccession]] = relationship(
        foreign_keys="UnitSuccession.old_unit_id", back_populates="old_unit", lazy="selectin"
    )
    predecessor_links: Mapped[list[UnitSuccession]] = relationship(
        foreign_keys="UnitSuccession.new_unit_id", back_populates="new_unit"
    )

    @property
    def is_current(self) -> bool:
        return self.system == UnitSystem.CURRENT

    def __repr__(self) -> str:
        return f"<AdminUnit {self.system}/{self.level}/{self.code} {self.name}>"


class UnitSuccession(Base):
    """Old unit → new unit. Many-to-many: 198 of Hanoi's 526 old communes were split."""

    __tablename__ = "unit_succession"

    old_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), primary_key=True)
    new_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), primary_key=True, index=True)
    #: True when only part of the old unit went into this new one.
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Order of the successors as the official table lists them (0 = the one shown first).
    position: Mapped[int] = mapped_column(Integer, default=0)

    old_unit: Mapped[AdminUnit] = relationship(foreign_keys=[old_unit_id], back_populates="successor_links")
    new_unit: Mapped[AdminUnit] = relationship(
        foreign_keys=[new_unit_id], back_populates="predecessor_links", lazy="joined"
    )
