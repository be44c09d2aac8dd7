"""OCR on its own queue (`portal.jobs.ocr_huey`, `huey_consumer portal.worker.ocr_huey --workers 1`).

Every minute, and when a consumer starts, the worker reads waiting files for at most
OCR_TASK_SECONDS, then lets the next minute's run go on: an import never waits for OCR, and OCR
never holds up e-mail or index writes. The queue of work is the database (portal/ocr/services.py),
not huey: a killed worker's file is taken up again once its claim goes stale.
"""

from __future__ import annotations

import logging

from huey import crontab

from portal.jobs import ocr_huey, with_session

log = logging.getLogger(__name__)


def _run(session) -> int:
    from flask import current_app

    from portal.files.store import FileStore
    from portal.ocr import services

    config = current_app.config
    report = services.run_pending(session, FileStore.from_config(config), services.Settings.from_config(config),
                                  seconds=config["OCR_TASK_SECONDS"])
    if report.stopped:
        log.error("OCR stopped: %s", report.stopped)
    return report.done + report.failed


@ocr_huey.task(name="ocr.run")
def run_waiting() -> int:
    return with_session(_run)


@ocr_huey.periodic_task(crontab(minute="*"), name="ocr.run.periodic")
def run_periodically() -> None:
    run_waiting()


@ocr_huey.on_startup()
def catch_up_on_start() -> None:
    """A (re)started worker reads what is waiting without waiting a minute."""
    run_waiting()
