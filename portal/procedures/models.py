"""National administrative procedures (from the National Database of Administrative Procedures)."""

from __future__ import annotations

from sqlalchemy import Boolean, String, true
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
    #: False for a procedure first met in an import batch (a well-formed national code the portal
    #: did not know): named from the batch, its field and level unknown ("") until a catalogue
    #: export (`flask refdata procedures FILE`) or an administrator completes it.
    catalogued: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), index=True)
