"""Background tasks of the area, on the general queue (portal.jobs.huey)."""

from __future__ import annotations
