"""What the huey consumer runs: `huey_consumer portal.worker.huey --workers 1`.

Importing the task modules registers their tasks; one worker, because the embedded index
allows a single writer.
"""

from portal.jobs import huey
from portal.search import tasks as search_tasks  # noqa: F401  (registers the search tasks)

__all__ = ["huey"]
