"""What the huey consumers run, one per queue:

    huey_consumer portal.worker.index_huey --workers 1   # index writes: one writer, in order
    huey_consumer portal.worker.huey --workers 2         # everything else: e-mail to requesters

Importing the task modules registers their tasks on their queues.
"""

from portal.copy_requests import tasks as copy_request_tasks  # noqa: F401  (e-mail to requesters)
from portal.jobs import huey, index_huey
from portal.search import tasks as search_tasks  # noqa: F401  (registers the index tasks)

__all__ = ["huey", "index_huey"]
