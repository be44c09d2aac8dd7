"""Consumer heartbeats: each queue's consumer writes the time into its own queue storage every minute.

Why a heartbeat and not the age of pending tasks: an idle queue with a dead consumer has no pending
task at all (its scheduler, which enqueues the periodic tasks, died with it), so nothing would look
old. The beat is a periodic task, so a fresh one proves the whole consumer works: its scheduler
enqueued it and a worker thread ran it. It is written with huey's own key-value storage (a row of
the queue's SQLite file, or a key of its Redis hash), so no table, no migration, and whoever can
reach the queue can read it, from any host. A starting consumer beats at once.

A worker busy with one long task (an import runs for hours on `import_huey`, one worker) cannot
run the beat meanwhile; `flask doctor` then looks at the import's own heartbeat (portal/imports).
"""

from __future__ import annotations

import time

from huey import Huey, crontab

from portal import jobs

#: Key of the beat in each queue's storage; its value is the Unix time of the last beat.
KEY = "portal.operations.heartbeat"
#: Seconds a beat may wait in the queue: an old one is dropped rather than run late.
EXPIRES = 120


def beat(queue: Huey, now: float | None = None) -> None:
    queue.put(KEY, time.time() if now is None else now)


def last_beat(queue: Huey) -> float | None:
    """Unix time of the queue's last beat; None when none was ever written. Raises what the storage
    raises when the queue cannot be reached (sqlite3 / redis errors)."""
    value = queue.get(KEY, peek=True)
    return float(value) if value is not None else None


def install(queue: Huey) -> None:
    """Register the periodic beat and the beat at consumer start.

    The beat goes first in line where the queue's storage orders by priority (SQLite). huey's Redis
    queue is a plain list that refuses any priority (NotImplementedError at every enqueue: on Redis
    the periodic beat never ran, and doctor called a working consumer late, then dead); there the
    beat waits its turn, and a backlog longer than EXPIRES shows as a late beat, which it is.
    """
    priority = 100 if queue.storage.priority else None

    @queue.periodic_task(crontab(minute="*"), name="operations.heartbeat", priority=priority, expires=EXPIRES)
    def heartbeat() -> None:
        beat(queue)

    @queue.on_startup(name="operations.heartbeat")
    def heartbeat_on_start() -> None:
        beat(queue)


#: Every consumer the portal runs, by the name doctor reports (the huey_consumer argument).
QUEUES: dict[str, Huey] = {"huey": jobs.huey, "index_huey": jobs.index_huey, "ocr_huey": jobs.ocr_huey,
                           "import_huey": jobs.import_huey}

for _queue in QUEUES.values():
    install(_queue)
