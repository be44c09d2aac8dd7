"""Tables of the area (see __init__.py)."""

from __future__ import annotations

from portal.db import Base  # noqa: F401
