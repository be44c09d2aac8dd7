"""gunicorn settings, read by `gunicorn app:app` from this folder.

The access log leaves out query strings: a search may carry an identifier a person typed
(even a personal id number, which the portal refuses to search but cannot stop people typing).
"""

import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
# Threads in each worker: a login's token exchange with the development identity provider
# (PORTAL_DEV_IDP=1) is an HTTP call back into this same server, and must not wait for the very
# request that makes it; a slow provider or preview does not hold a whole worker either.
threads = int(os.environ.get("PORTAL_THREADS", "4"))
# The search index is opened lazily in each worker after fork: never preload the app.
preload_app = False
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
