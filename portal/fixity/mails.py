"""The mail to the admins when an audit finds a missing or altered file: one per run and address,
through the outbox (topic "email.fixity"), in Vietnamese then English, naming every bad file
(up to ``LISTED``; the page /staff/admin/fixity and `flask files audit` have them all)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal import clock, mail, outbox
from portal.fixity.models import FixityRun

TOPIC = "email.fixity"
#: Bad files named in one mail.
LISTED = 100


def queue(session: Session, run_id: int, recipients: list[str]) -> None:
    for index, address in enumerate(recipients):
        outbox.add(session, TOPIC, f"run:{run_id}:{index}", {"to": address})


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    _, run_id, index = (key.split(":") + ["", "", ""])[:3]
    run = session.get(FixityRun, int(run_id)) if run_id.isdecimal() else None
    if run is None or not run.problems or not payload.get("to"):
        return None
    config = current_app.config
    base = mail.public_base_url(config)
    lines = [f"- {p.outcome.upper()}: {p.path}\n  sha256 {p.sha256}"
             + (f"\n  found / thấy: {p.found}" if p.found else "")
             + (f"\n  {p.used_by}" if p.used_by else "") for p in run.problems[:LISTED]]
    more = len(run.problems) - LISTED
    if more > 0:
        lines.append(f"… +{more}")
    text = "\n".join([
        f"Lần kiểm tra toàn vẹn tệp số {run.id} ({clock.spoken(run.started_at)}) đã đọc lại "
        f"{run.checked} tệp và thấy {run.missing} tệp bị mất, {run.altered} tệp bị thay đổi, "
        f"{run.unreadable} tệp không đọc được. Cần khôi phục các tệp này từ bản sao lưu.",
        "",
        f"Fixity run {run.id} re-read {run.checked} stored files and found {run.missing} missing, "
        f"{run.altered} altered and {run.unreadable} unreadable. Restore them from the backup.",
        "",
        *lines,
        "",
        f"{base}/staff/admin/fixity/{run.id}",
        "flask files audit",
    ])
    subject = (f"Kiểm tra toàn vẹn tệp: {run.failed} tệp mất hoặc bị thay đổi / "
               f"Fixity check: {run.failed} files missing or altered")
    return mail.build_message(payload["to"], subject, text + "\n", config=config, now=now,
                              message_id=f"<fixity-run-{run.id}.{index}@{mail.sender_domain(config)}>")
