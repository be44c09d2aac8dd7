"""Background tasks of the area, on the general queue (portal.jobs.huey): every minute, end the
assisted sessions whose time is up and queue their summary mail (once: `services.queue_summary`).
A missed minute loses nothing: the next run, or the clerk's next request, ends them."""

from __future__ import annotations

from flask import current_app
from huey import crontab

from portal import clock, outbox
from portal.jobs import huey, with_session


@huey.periodic_task(crontab(minute="*"), name="counter.close_expired")
def close_expired_sessions() -> int:
    """Sessions ended."""
    from portal.counter import services

    def work(session) -> int:
        ended = services.close_expired(session, services.Settings.of(current_app.config), clock.now())
        outbox.commit(session)
        return ended

    return with_session(work)
