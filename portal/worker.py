"""What the huey consumers run, one per queue:

    huey_consumer portal.worker.index_huey --workers 1   # index writes: one writer, in order
    huey_consumer portal.worker.huey --workers 2         # everything else: e-mail from the outbox,
                                                         # the scorecard's figures, old login sessions,
                                                         # the API keys' counts
    huey_consumer portal.worker.import_huey --workers 1  # staff batch imports (hours, resumable)

Importing the task modules registers their tasks on their queues; tasks build their app with
`create_app`, handed to `portal.jobs` here so that the queues themselves import no area.
"""

from portal import create_app, jobs
from portal.api_keys import tasks as api_key_tasks  # noqa: F401  (keys' counts from Redis, every minute)
from portal import mail_outbox as mail_tasks  # noqa: F401  (e-mail from the outbox)
from portal.fixity import tasks as fixity_tasks  # noqa: F401  (the nightly fixity slice)
from portal.follows import tasks as follow_tasks  # noqa: F401  (reminders of followed results, daily)
from portal.identity import tasks as identity_tasks  # noqa: F401  (old login sessions purged hourly)
from portal.jobs import ocr_huey  # huey_consumer portal.worker.ocr_huey --workers 1: OCR of stored scans
from portal.ocr import tasks as ocr_tasks  # noqa: F401  (reads waiting scans every minute)
from portal.operations import heartbeat  # noqa: F401  (each consumer beats every minute: flask doctor)
from portal.imports import tasks as import_tasks  # noqa: F401  (staff batch imports)
from portal.jobs import huey, import_huey, index_huey
from portal.counter import tasks as counter_tasks  # noqa: F401  (assisted counter sessions)
from portal.privacy import tasks as privacy_tasks  # noqa: F401  (retention periods enforced, daily)
from portal.sharing import tasks as sharing_tasks  # noqa: F401  (share links)
from portal.scorecard import tasks as scorecard_tasks  # noqa: F401  (the scorecard's periodic refresh)
from portal.search import tasks as search_tasks  # noqa: F401  (registers the index tasks)

jobs.use_app_factory(create_app)

__all__ = ["ocr_huey", "huey", "import_huey", "index_huey"]
