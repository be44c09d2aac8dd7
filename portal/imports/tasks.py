"""Import jobs on their own queue (``huey_consumer portal.worker.import_huey --workers 1``): an
import of a big batch runs for hours and must not hold up e-mail on the general queue.

A killed consumer loses the task it was running (huey removed it from the queue when it started):
`resume_stalled` runs every minute, and once more a stall time after a consumer starts, and puts
back every running job whose heartbeat stopped; run_import then resumes its batch after the last
committed line.
"""

from __future__ import annotations

import logging

from flask import current_app
from huey import crontab

from portal.jobs import import_huey, with_session

log = logging.getLogger(__name__)


@import_huey.task(name="imports.run_job")
def run_job(job_id: int) -> str:
    """Run the job if this worker can claim it (another may have it, or it is finished)."""
    from portal.imports import background

    def work(session) -> str:
        config = current_app.config
        if not background.claim(session, job_id, float(config["IMPORT_STALL_SECONDS"])):
            return "not claimed"
        return background.run(session, job_id, config)

    return with_session(work)


@import_huey.periodic_task(crontab(), name="imports.resume_stalled")
def resume_stalled() -> int:
    """Put back the jobs whose worker died, and those whose message never reached the queue;
    returns how many."""
    from portal.imports import background

    def work(session) -> int:
        stall = float(current_app.config["IMPORT_STALL_SECONDS"])
        jobs = background.stalled_jobs(session, stall)
        for job_id in jobs:
            log.info("import job %s lost its worker: resuming it", job_id)
            run_job(job_id)
        waiting = background.unqueued_jobs(session, stall)
        for job_id in waiting:
            log.info("import job %s was never taken from the queue: queuing it again", job_id)
            run_job(job_id)
        return len(jobs) + len(waiting)

    return with_session(work)


@import_huey.periodic_task(crontab(minute="41"), name="imports.purge_uploads")
def purge_uploads() -> int:
    """Unfinished uploads older than UPLOAD_BATCH_KEEP_HOURS are removed, bytes and row."""
    from portal.imports import uploads

    def work(session) -> int:
        removed = uploads.purge_abandoned(session, current_app.config)
        session.commit()
        return removed

    return with_session(work)


@import_huey.on_startup(name="imports.resume_after_start")
def resume_after_start() -> None:
    """A restarted consumer looks for its predecessor's jobs once their heartbeat is stale, without
    waiting for the next minute."""
    try:
        stall = with_session(lambda _session: float(current_app.config["IMPORT_STALL_SECONDS"]))
        resume_stalled.schedule(delay=stall + 1)
    except Exception:  # the periodic check still runs
        log.exception("could not schedule the check for stalled imports")


def enqueue(job_id: int) -> None:
    """Queue a committed job (inline when huey is immediate, as in tests). A queue that cannot be
    reached (Redis stopped) loses nothing: the job's row waits and `resume_stalled` queues it."""
    if import_huey.immediate:
        run_job(job_id)
        return
    try:
        run_job(job_id)
    except Exception:  # noqa: BLE001 - redis or sqlite errors alike: the periodic check takes over
        log.warning("import job %s could not be queued now; it will be within a minute", job_id, exc_info=True)
