"""Prometheus metrics at /metrics and one JSON access-log line per request (issue 16, item 4).

Two kinds of figures:

- per request, counted by every process as it answers: requests by endpoint, method and status, their
  latency, and the latency of each search. Labels are Flask endpoint names, never raw paths (two
  results are one endpoint, not two series). Under gunicorn each worker writes its counts to files
  in ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets it under DATA_DIR, empties it at the
  master's start and marks dead workers), and a scrape adds them up whichever worker answers it;
- the state of the system, read at scrape time only (`StateCollector`): outbox and mails waiting,
  huey queues, imports, OCR, the audit chain, free disk. A handful of statements a scrape, each
  bounded by what waits rather than by the size of the database (the audit chain is counted once
  per process and then only its new entries), so a million results cost a scrape no more.

prometheus_client itself, rather than prometheus-flask-exporter: the exporter labels by path
unless told otherwise, publishes its own unguarded route, and for gunicorn needs the same
multiprocess directory and child_exit hook anyway; the client alone gives the labels, the guard
and the scrape-time collector we want with one dependency less.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Request, request
from huey.constants import EmptyData
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import config as config_module
from portal import jobs, outbox
from portal.audit import AuditEntry
from portal.imports.job_models import ImportJob, JobStatus
from portal.records.models import Document, DocumentText, TextStatus
from portal.search import service as search_service

log = logging.getLogger(__name__)
#: The JSON access log's logger: one line per request, on standard output beside gunicorn's own.
access_log = logging.getLogger("portal.access")

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = Counter("portal_http_requests", "Requests answered, by Flask endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("portal_http_request_duration_seconds",
                    "Seconds from a request reaching the app to its answer's headers, by endpoint, method",
                    ["endpoint", "method"], buckets=_SECONDS)
SEARCH = Histogram("portal_search_duration_seconds",
                   "Seconds a search took in the search service (source: engine, or database when degraded)",
                   ["source"], buckets=_SECONDS)

#: Methods kept as labels; any other (WebDAV verbs from scanners) counts as "other": bounded series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The endpoint label of a request no route matched (404s of scanners: one series, not one per path).
UNMATCHED = "none"
_ROUTE = "portal.metrics.route"
_SETTINGS = "portal.metrics.settings"
_CACHE = "portal.metrics.cache"
#: Where each huey queue keeps the head job this portal first saw, and when (its own key-value store).
_HEAD_KEY = "portal.metrics.head"
_ON = {"1": True, "true": True, "on": True, "yes": True,
       "0": False, "false": False, "off": False, "no": False}
#: Seconds the scrape-time figures that grow with the database (OCR files done) are kept per process.
SLOW_SECONDS = 300


# --- configuration ------------------------------------------------------------------------------

def _switch(config, key: str, default: bool) -> bool:
    value = config.get(key)
    if value is None or value == "":
        return default
    lowered = str(value).strip().lower()  # PORTAL_X=true arrives as True, =1 as 1
    if lowered not in _ON:
        raise RuntimeError(f"PORTAL_{key}={value!r}: expected one of 1, 0, true, false, on, off, yes, no; "
                           "refusing to start.")
    return _ON[lowered]


def _networks(value) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
    try:
        return tuple(ipaddress.ip_network(str(item).strip(), strict=True) for item in items)
    except ValueError as error:
        raise RuntimeError(f"PORTAL_METRICS_ALLOW: {error}; expected networks like 10.0.0.0/8 or ::1/128; "
                           "refusing to start.") from error


def _token(value) -> str:
    token = "" if value is None else str(value).strip()
    if token and len(token) < 32:
        raise RuntimeError("PORTAL_METRICS_TOKEN is shorter than 32 characters (python -c 'import secrets; "
                           "print(secrets.token_urlsafe(32))'); refusing to start.")
    return token


# --- who may scrape -----------------------------------------------------------------------------

def may_scrape(req: Request, app: Flask) -> bool:
    """A bearer token equal to METRICS_TOKEN, or an address in METRICS_ALLOW. Without trusted proxies
    (PROXY_FIX_HOPS 0), a request that came through one (X-Forwarded-For) has the proxy's address,
    which may well be 127.0.0.1: only the token lets it in."""
    settings = app.extensions[_SETTINGS]
    sent = req.headers.get("Authorization", "")
    if settings["token"] and sent[:7].lower() == "bearer ":
        return hmac.compare_digest(sent[7:].strip().encode(), settings["token"].encode())
    proxied = "X-Forwarded-For" in req.headers or "Forwarded" in req.headers
    if proxied and not int(app.config["PROXY_FIX_HOPS"]):
        return False
    try:
        address = ipaddress.ip_address(req.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in settings["allow"])


# --- per request: the counters and the access log -----------------------------------------------

def _remember_route(response):
    """The endpoint and route rule of the request, for the middleware that counts it after."""
    rule = request.url_rule
    request.environ[_ROUTE] = (rule.endpoint, rule.rule) if rule is not None else (None, None)
    return response


class Measured:
    """WSGI middleware: times the whole app (every hook, the view, the error pages) and counts the
    status it actually sent, whatever hook changed it last (a 304 from the cache's)."""

    def __init__(self, wsgi_app, line: Callable[[dict, dict, float], None] | None) -> None:
        self.wsgi_app = wsgi_app
        self.line = line

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        sent: dict[str, Any] = {}

        def keep(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, keep)
        finally:
            seconds = time.perf_counter() - started
            try:
                self.observe(environ, sent, seconds)
            except Exception:  # noqa: BLE001 - counting must never cost a request its answer
                log.exception("could not count a request")

    def observe(self, environ: dict, sent: dict, seconds: float) -> None:
        endpoint = environ.get(_ROUTE, (None, None))[0] or UNMATCHED
        method = environ.get("REQUEST_METHOD", "GET")
        method = method if method in _METHODS else "other"
        status = str(sent.get("status", "500"))[:3]
        REQUESTS.labels(endpoint, method, status).inc()
        LATENCY.labels(endpoint, method).observe(seconds)
        if self.line is not None:
            self.line(environ, sent, seconds)


def access_line(environ: dict, sent: dict, seconds: float, secret: str) -> dict[str, Any]:
    """The access log's fields: no path (it may hold an id), no query string, no address in clear."""
    endpoint, rule = environ.get(_ROUTE, (None, None))
    headers = {name.lower(): value for name, value in sent.get("headers", ())}
    method = environ.get("REQUEST_METHOD", "GET")
    length = headers.get("content-length")
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "type": "access",
        "request_id": headers.get("x-request-id"),
        "method": method if method in _METHODS else "other",
        "endpoint": endpoint,
        "route": rule,
        "status": int(str(sent.get("status", "500"))[:3]),
        "duration_ms": round(seconds * 1000, 2),
        "bytes": int(length) if length and length.isdigit() else None,
        "client": client_tag(environ.get("REMOTE_ADDR") or "", secret),
    }


def client_tag(address: str, secret: str) -> str:
    """A keyed hash of the client's address that changes every day (UTC): the lines of one client
    can be told apart within a day (an abusive client), and the address cannot be recovered."""
    day = datetime.now(UTC).date().isoformat()
    return hmac.new(secret.encode(), f"access:{day}:{address}".encode(), hashlib.sha256).hexdigest()[:12]


class _StdoutHandler(logging.Handler):
    """Writes each line to whatever sys.stdout is at the time (gunicorn's, or a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - logging's own rule: report, never raise
            self.handleError(record)


def _open_access_log() -> None:
    """One handler per process (however many apps it builds), outside the portal's text log."""
    if not any(isinstance(h, _StdoutHandler) for h in access_log.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def _write_line(secret: str) -> Callable[[dict, dict, float], None]:
    def write(environ: dict, sent: dict, seconds: float) -> None:
        access_log.info(json.dumps(access_line(environ, sent, seconds, secret), ensure_ascii=False))
    return write


def _observe_search(seconds: float, degraded: bool) -> None:
    SEARCH.labels("database" if degraded else "engine").observe(seconds)


# --- at scrape time: the state of the system ----------------------------------------------------

class StateCollector:
    """Gauges read when Prometheus asks, from the database, the queues and the disks."""

    def __init__(self, session: Session, config, cache: dict) -> None:
        self.session = session
        self.config = config
        self.cache = cache
        self.up: dict[str, int] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for source, read in (("outbox", self._outbox), ("queues", self._queues), ("imports", self._imports),
                             ("ocr", self._ocr), ("audit", self._audit), ("disk", self._disk)):
            try:
                families = list(read())
            except Exception as error:  # noqa: BLE001 - one broken source must not hide the others
                log.warning("metrics: %s could not be read: %s", source, error)
                self.session.rollback()
                self.up[source] = 0
                continue
            self.up[source] = 1
            yield from families
        up = GaugeMetricFamily("portal_metrics_source_up", "1 when this source could be read at this scrape",
                               labels=["source"])
        for source, value in self.up.items():
            up.add_metric([source], value)
        yield up

    def _outbox(self) -> Iterable[GaugeMetricFamily]:
        items = GaugeMetricFamily("portal_outbox_items", "Outbox rows waiting, by topic", labels=["topic"])
        oldest = GaugeMetricFamily("portal_outbox_oldest_age_seconds",
                                   "Age of the oldest outbox row waiting, by topic", labels=["topic"])
        row = outbox.OutboxItem
        now = datetime.now(UTC)
        mails = 0
        for topic, count, first in self.session.execute(
                select(row.topic, func.count(), func.min(row.created_at)).group_by(row.topic)):
            items.add_metric([topic], count)
            oldest.add_metric([topic], max(0.0, (now - first).total_seconds()) if first else 0.0)
            mails += count if topic.startswith("email.") else 0
        yield items
        yield oldest
        yield GaugeMetricFamily("portal_mail_waiting", "E-mails waiting in the outbox", value=mails)

    def _queues(self) -> Iterable[GaugeMetricFamily]:
        depth = GaugeMetricFamily("portal_queue_jobs", "Jobs waiting in each huey queue", labels=["queue"])
        oldest = GaugeMetricFamily("portal_queue_oldest_job_age_seconds",
                                   "How long the job at the head of each queue has been seen there "
                                   "(precise to one scrape interval)", labels=["queue"])
        now = time.time()
        for queue in (jobs.huey, jobs.index_huey, jobs.import_huey, jobs.ocr_huey):
            depth.add_metric([queue.name], queue.pending_count())
            oldest.add_metric([queue.name], head_age(queue, now))
        yield depth
        yield oldest

    def _imports(self) -> Iterable[GaugeMetricFamily]:
        counts = GaugeMetricFamily("portal_import_jobs", "Staff import jobs queued or running",
                                   labels=["status"])
        done = total = 0
        found = {JobStatus.QUEUED: 0, JobStatus.RUNNING: 0}
        for status, count, lines_done, lines_total in self.session.execute(
                select(ImportJob.status, func.count(), func.coalesce(func.sum(ImportJob.lines_done), 0),
                       func.coalesce(func.sum(ImportJob.lines_total), 0))
                .where(ImportJob.status.in_(list(found))).group_by(ImportJob.status)):
            found[status] = count
            if status == JobStatus.RUNNING:
                done, total = int(lines_done), int(lines_total)
        for status, count in found.items():
            counts.add_metric([status], count)
        yield counts
        yield GaugeMetricFamily("portal_import_lines_done", "Manifest lines done by the running imports",
                                value=done)
        yield GaugeMetricFamily("portal_import_lines_total", "Manifest lines of the running imports",
                                value=total)

    def _ocr(self) -> Iterable[GaugeMetricFamily]:
        files = GaugeMetricFamily("portal_ocr_files", "Stored files by OCR status (done: counted every "
                                  f"{SLOW_SECONDS} s at most)", labels=["status"])
        pages = GaugeMetricFamily("portal_ocr_pages", "Pages of the stored files by OCR status (done: pages "
                                  f"read, counted every {SLOW_SECONDS} s at most)", labels=["status"])
        waiting = [TextStatus.PENDING.value, TextStatus.RUNNING.value, TextStatus.FAILED.value]
        found = {status: (0, 0) for status in waiting}
        for status, count, page_count in self.session.execute(
                select(DocumentText.status, func.count(), func.coalesce(func.sum(Document.pages), 0))
                .join(Document, Document.sha256 == DocumentText.document_sha256)
                .where(DocumentText.status.in_(waiting)).group_by(DocumentText.status)):
            found[status] = (count, int(page_count))
        done = select(func.count(), func.coalesce(func.sum(DocumentText.pages), 0)).where(
            DocumentText.status == TextStatus.DONE)
        found[TextStatus.DONE.value] = self._slow(
            "ocr_done", lambda: tuple(int(v) for v in self.session.execute(done).one()))
        for status, (count, page_count) in found.items():
            files.add_metric([status], count)
            pages.add_metric([status], page_count)
        yield files
        yield pages

    def _audit(self) -> Iterable[GaugeMetricFamily]:
        """Entries are only appended, one writer at a time (the chain's lock): count the whole chain
        once, then only what came after the last id seen. A chain that got shorter (a restore, a
        test's truncation) is counted again from the start."""
        last, length = self.cache.get("audit", (0, 0))
        newest = self.session.scalar(select(func.max(AuditEntry.id))) or 0
        if newest < last:
            last, length = 0, 0
        if newest > last:
            added, newest = self.session.execute(
                select(func.count(), func.max(AuditEntry.id)).where(AuditEntry.id > last)).one()
            last, length = newest or last, length + added
        self.cache["audit"] = (last, length)
        yield GaugeMetricFamily("portal_audit_chain_length", "Entries in the audit chain", value=length)

    def _disk(self) -> Iterable[GaugeMetricFamily]:
        free = GaugeMetricFamily("portal_disk_free_ratio", "Share of the disk still free", labels=["volume"])
        for volume, key in (("data", "DATA_DIR"), ("files", "FILES_ROOT")):
            path = self.config[key]
            while not os.path.exists(path) and os.path.dirname(path) != path:
                path = os.path.dirname(path)
            usage = shutil.disk_usage(path)
            free.add_metric([volume], usage.free / usage.total if usage.total else 0.0)
        yield free

    def _slow(self, key: str, compute: Callable[[], Any]) -> Any:
        expires, value = self.cache.get(key, (0.0, None))
        if time.monotonic() >= expires:
            value = compute()
            self.cache[key] = (time.monotonic() + SLOW_SECONDS, value)
        return value


def head_age(queue, now: float) -> float:
    """Seconds the job now at the head of ``queue`` has been seen there. huey's messages carry no
    enqueue time, so the first scrape that sees a job at the head writes (job id, time) in the
    queue's own key-value store (SQLite file or Redis: every worker, every host sees it)."""
    raw = queue.storage.enqueued_items(1)
    if not raw:
        return 0.0
    head = queue.serializer.deserialize(raw[0]).id
    stored = queue.storage.peek_data(_HEAD_KEY)
    if stored is not EmptyData:
        seen_id, since = json.loads(bytes(stored))
        if seen_id == head:
            return max(0.0, now - since)
    queue.storage.put_data(_HEAD_KEY, json.dumps([head, now]).encode())
    return 0.0


class _ProcessLocal:
    """This process's counts (no gunicorn: `flask run`, the tests)."""

    def collect(self):
        return REGISTRY.collect()


def exposition(session: Session, app: Flask) -> bytes:
    """The text Prometheus reads: every worker's counts, then the state of the system."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessLocal())
    registry.register(StateCollector(session, app.config, app.extensions[_CACHE]))
    try:
        return generate_latest(registry)
    finally:
        session.rollback()  # a read: end its transaction


def init_app(app: Flask) -> None:
    """Read the settings (a wrong one refuses to start), count every request, log it when asked."""
    app.extensions[_SETTINGS] = {"allow": _networks(app.config["METRICS_ALLOW"]),
                                 "token": _token(app.config["METRICS_TOKEN"])}
    app.extensions[_CACHE] = {}  # the scrape-time caches of this app
    json_lines = _switch(app.config, "ACCESS_LOG_JSON",
                         default=not config_module.allows_development_shortcuts(app.config))
    app.config["ACCESS_LOG_JSON"] = json_lines
    if json_lines:
        _open_access_log()
    app.after_request(_remember_route)
    secret = str(app.config["SECRET_KEY"])
    app.wsgi_app = Measured(app.wsgi_app, _write_line(secret) if json_lines else None)
    if _observe_search not in search_service.OBSERVERS:
        search_service.OBSERVERS.append(_observe_search)
