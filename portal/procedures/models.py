"""National administrative procedures (from the National Database of Administrative Procedures)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Procedure(Base):
    __tablename__ = "procedure"

    #: National code "D.DDDDDD", e.g. "1.001193" (đăng ký khai sinh).
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    field: Mapped[str] = mapped_column(String(200))
    #: Level that issues the result now: "commune" or "province".
    level: Mapped[str] = mapped_column(String(10))
    #: Usual name of the result document ("Giấy khai sinh"), used by the demo data.
    result_doc_type: Mapped[str] = mapped_column(String(100), default="")
    notation: Mapped[str] = mapped_column(String(30), default="")
    #: Default access of its results: "personal" or "public".
    access: Mapped[str] = mapped_column(String(10), default="personal")
