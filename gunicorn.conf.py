"""gunicorn settings, read by `gunicorn app:app` from this folder.

The access log leaves out query strings: a search may carry an identifier a person typed
(even a personal id number, which the portal refuses to search but cannot stop people typing);
and the client's address: personal data, which the portal's JSON line keeps only as a daily tag.
"""

import os
import shutil
from pathlib import Path

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
# Threads in each worker: a login's token exchange with the development identity provider
# (PORTAL_DEV_IDP=1) is an HTTP call back into this same server, and must not wait for the very
# request that makes it; a slow provider or preview does not hold a whole worker either.
threads = int(os.environ.get("PORTAL_THREADS", "4"))
# The app is imported once, in the master, and the workers share its memory (copy on write): two
# workers at rest took 116-120 MB each (proportional set size) without it, 53 MB with it
# (docs/benchmarks.md, "Worker memory"). Safe because the master opens nothing a worker uses:
# the search index is opened lazily in each worker, queues and Redis connect on first use, and
# post_fork drops any database connection the master may have made.
preload_app = True
accesslog = "-"
# The last field is the request id the portal answered with (portal/request_ids.py): the same id
# is on the portal's own log lines of that request and in the client's X-Request-ID header.
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'

# /metrics adds up what every worker counted (portal/operations/metrics.py): each writes its counts to
# files in this folder, emptied when the master starts. Set before the app is imported (preload_app);
# kept as it is by a HUP or a USR2 upgrade, whose master inherits it, so the counts go on.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    _metrics = Path(os.environ.get("PORTAL_DATA_DIR", "var")).resolve() / "metrics"
    shutil.rmtree(_metrics, ignore_errors=True)
    _metrics.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics)


def pre_fork(server, worker):
    """Objects made so far stay out of the workers' garbage collection: scanning them would write
    to every shared page and copy it into each worker."""
    import gc

    gc.freeze()


def post_fork(server, worker):
    """A connection opened before the fork belongs to the master: each worker opens its own."""
    from portal.extensions import db

    app = server.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):  # not the portal (benchmarks' bare app)
        return
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def child_exit(server, worker):
    """A worker that left: its live gauges leave with it (its counts stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
