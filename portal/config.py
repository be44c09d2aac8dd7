"""Configuration: safe defaults here, overridden by ``PORTAL_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from portal.clock import HANOI_NAME

#: Claims of the national SSO (VNeID-shaped), by the name the portal uses for them.
DEFAULT_OIDC_CLAIMS = {
    "sub": "sub",
    "id_number": "SoDinhDanh",  # 12-digit personal id
    "name": "HoVaTen",
    "birth_date": "NgayThangNamSinh",  # YYYYMMDD
    "account_type": "LoaiTaiKhoan",
    "loa": "acr",
    "org_code": "MaSoDoanhNghiep",  # enterprise code
    "org_name": "TenDoanhNghiep",
}


#: Every PORTAL_ENV the portal knows; a misspelt one ("prod", "Production") must not start.
ENVIRONMENTS = ("production", "staging", "development", "testing")
#: The only environments where development shortcuts may be switched on (an allow-list).
DEVELOPMENT_ENVIRONMENTS = ("development", "testing")


def allows_development_shortcuts(config) -> bool:
    """Whether this app may offer development shortcuts: PORTAL_ENV development or testing, or the
    test suite (TESTING, which only code sets: create_app ignores PORTAL_TESTING)."""
    return config.get("ENV") in DEVELOPMENT_ENVIRONMENTS or bool(config.get("TESTING"))


class Config:
    #: Where files, the search index and the job queue live when nothing else is configured.
    DATA_DIR = os.path.abspath("var")
    #: SQLAlchemy URL; empty means SQLite under DATA_DIR.
    DATABASE_URL = ""
    #: Required outside development and tests: create_app refuses to start without it.
    SECRET_KEY = ""
    #: Earlier secret keys, still accepted while their cookies and links live out (rotation:
    #: docs/operations.md): JSON list or comma-separated. Sessions and signed links check them;
    #: only SECRET_KEY signs.
    SECRET_KEY_FALLBACKS: list[str] = []
    #: One of ENVIRONMENTS (anything else refuses to start). Development shortcuts (the development
    #: identity provider, the development signing authority, mails written to files) exist only
    #: where it is one of DEVELOPMENT_ENVIRONMENTS; "production" and "staging" refuse them.
    ENV = "production"

    #: Provinces whose units are loaded by `flask units sync` (statistics-office codes; 1 = Hà Nội).
    UNIT_PROVINCES = "1"

    #: OpenID provider of citizens and businesses (the national SSO); its discovery document is at
    #: <issuer>/.well-known/openid-configuration. Empty: login is unavailable (or the dev IdP's).
    OIDC_ISSUER = ""
    OIDC_CLIENT_ID = ""
    OIDC_CLIENT_SECRET = ""
    #: Scopes asked for at login (space-separated); "openid" is always added.
    OIDC_SCOPES = "openid profile"
    #: Our name → the provider's claim name. Merged over DEFAULT_OIDC_CLAIMS: change one, keep the rest.
    OIDC_CLAIMS: dict = {}
    #: The provider's account-type claim value → SubjectKind ("individual" / "organization").
    OIDC_ACCOUNT_TYPES = {"1": "individual", "2": "organization"}
    #: Level of assurance an account needs for an action; an `acr` below it gets an explanation page.
    REQUIRED_LOA = {"view_personal": 2}
    #: Development OpenID provider under /dev-idp (demo people); refused when ENV is production.
    DEV_IDP = False

    #: Root of the content-addressed file store; empty means DATA_DIR/files.
    FILES_ROOT = ""
    #: Scans below this resolution are refused at import (Circular 01/2023/TT-VPCP asks ≥ 200 dpi).
    MIN_SCAN_DPI = 200
    #: Largest single file accepted in a batch, in bytes.
    MAX_FILE_BYTES = 200 * 1024 * 1024
    #: Budgets of inspecting one file, for every upload (reports, corrections, /verify, staff
    #: uploads) and every imported file (portal/files/inspect.py): pages of a PDF or TIFF;
    UPLOAD_MAX_PAGES = 500
    #: pixels of one image (a 600 dpi A4 scan is 35 million, A3 70 million);
    UPLOAD_MAX_PIXELS = 100_000_000
    #: pixels of all the images of one file (500 A4 pages at 300 dpi are 4,350 million);
    UPLOAD_MAX_FILE_PIXELS = 5_000_000_000
    #: bytes decoded in memory (an image's pixels, 4 a pixel for RGB: a 600 dpi A3 colour scan is
    #: 280 MB; a PDF's page contents);
    UPLOAD_MAX_DECODED_BYTES = 512 * 1024 * 1024
    #: CPU seconds (a web upload's answer waits at most this + 1 s);
    UPLOAD_MAX_SECONDS = 3
    #: memory of the child process that inspects a web upload, in MB.
    UPLOAD_MAX_MEMORY_MB = 1024

    #: "embedded" (tantivy, default) or "meilisearch".
    SEARCH_BACKEND = "embedded"
    #: Directory of the embedded index; empty means DATA_DIR/index.
    SEARCH_INDEX_DIR = ""
    #: Meilisearch server and key, used when SEARCH_BACKEND == "meilisearch".
    MEILI_URL = ""
    MEILI_KEY = ""
    MEILI_INDEX = "results"
    #: Hits per search page.
    SEARCH_PER_PAGE = 20

    #: huey queue: SQLite file under DATA_DIR unless a Redis URL is given.
    REDIS_URL = ""
    #: Run background tasks inline (tests, single-process demo).
    HUEY_IMMEDIATE = False

    #: OCR of stored scans (docs/ocr.md): Tesseract's model (Debian tesseract-ocr-vie);
    OCR_LANG = "vie"
    #: highest resolution PDF pages without a text layer are rendered at (a scan's own if lower);
    OCR_DPI = 300
    #: seconds Tesseract may spend on one page before it is killed (the page is left out);
    OCR_PAGE_TIMEOUT_SECONDS = 60
    #: pages read per file, the first ones (the rest are noted as not read);
    OCR_MAX_PAGES = 50
    #: seconds after which a file claimed by a worker that stopped is read again;
    OCR_STALL_SECONDS = 900
    #: seconds one run of the worker's periodic task reads for (a new run starts every minute).
    OCR_TASK_SECONDS = 50

    #: Staff batch uploads (docs/import.md#staff-upload): largest .zip, in bytes (tus uploads
    #: arrive in PATCH chunks below MAX_CONTENT_LENGTH, so the whole batch never sits in memory);
    UPLOAD_BATCH_MAX_BYTES = 20 * 1024**3
    #: hours an unfinished upload is kept before it is removed;
    UPLOAD_BATCH_KEEP_HOURS = 48
    #: largest batch sent as one plain multipart form (the no-JavaScript fallback).
    UPLOAD_BATCH_FORM_MAX_BYTES = 30 * 1024 * 1024
    #: A batch's .zip (the command line's and the upload's): entries, and bytes once extracted;
    IMPORT_ZIP_MAX_ENTRIES = 2_000_000
    IMPORT_ZIP_MAX_BYTES = 200 * 1024**3
    #: Import jobs: lines per transaction (and per progress update);
    IMPORT_CHUNK_LINES = 200
    #: seconds without a heartbeat after which a running import's worker counts as dead and the
    #: job is taken up again (the heartbeat beats every third of it).
    IMPORT_STALL_SECONDS = 120

    #: Failed staff logins (password or second factor) in a row before the account is locked.
    STAFF_MAX_FAILURES = 5
    #: How long a locked staff account stays locked.
    STAFF_LOCKOUT_MINUTES = 15
    #: Time allowed between the password step and the second factor of a staff login.
    STAFF_SECOND_FACTOR_MINUTES = 5
    #: Login attempts (password or code steps) from one address, whatever the account: the
    #: per-account lock alone lets one address try a password on every account.
    STAFF_LOGIN_RATE_LIMIT = "30 per 15 minutes"
    #: Issuer shown in authenticator apps next to the staff username.
    STAFF_TOTP_ISSUER = "Cổng kết quả TTHC Hà Nội"
    #: A staff session ends after this many minutes without a request (portal/identity/sessions.py)…
    STAFF_IDLE_MINUTES = 15
    #: …and this many hours after its login however busy: a working day, then log in again.
    STAFF_SESSION_HOURS = 12
    #: Citizens read their personal results on shared computers too (ward kiosks, internet cafés):
    #: idle out after half an hour; logging in again at the SSO is a click while its own session lasts.
    CITIZEN_IDLE_MINUTES = 30
    CITIZEN_SESSION_HOURS = 24
    #: Rows of sessions started longer ago than this are deleted (hourly, by the general worker).
    LOGIN_SESSION_RETENTION_DAYS = 30

    #: Copy requests (docs/copies.md, "Requests, fees and due dates"): fee rules and the working-day
    #: calendar as JSON files of the shape of portal/copy_requests/data/; empty: those packaged files.
    COPY_FEES_FILE = ""
    COPY_DUE_DATES_FILE = ""
    #: Tracking a request without logging in: failed tries from one address on one reference within
    #: the window before that address's tries on it are refused for a while. Never counted per
    #: reference from anyone: references are sequential, so a stranger could lock the owner out.
    COPY_TRACK_MAX_FAILURES = 5
    COPY_TRACK_WINDOW_MINUTES = 15
    #: Every tracking try from one address, whatever the reference, found or not: checked before
    #: any lookup, so one address cannot walk the references nor fill the audit chain.
    COPY_TRACK_RATE_LIMIT = "20 per hour"

    #: Signed copies (docs/copies.md): development CA and per-unit keys; empty means DATA_DIR/pki.
    COPY_PKI_DIR = ""
    #: One key and certificate (PEM files) signing every unit's copies; empty: per-unit files
    #: under COPY_PKI_DIR/units/<unit code>/. COPY_SIGNING_CHAIN: intermediates, comma-separated.
    COPY_SIGNING_KEY = ""
    COPY_SIGNING_CERT = ""
    COPY_SIGNING_CHAIN = ""
    #: Roots a copy's signature must chain to (PEM files, comma-separated); empty: the dev CA's root.
    COPY_TRUST_ROOTS = ""
    #: How long a download link of a signed copy works.
    COPY_LINK_MINUTES = 60 * 24 * 3
    #: Largest PDF accepted by the verification upload.
    COPY_VERIFY_MAX_BYTES = 20 * 1024 * 1024
    #: Seconds a browser or proxy may keep an anonymous public page (home, result, unit, scorecard,
    #: published answers; portal/http_cache.py) before asking again with its ETag. Short: a status
    #: shown may change (a correction, a revocation) and the page should not lag behind by much.
    PUBLIC_PAGE_MAX_AGE = 60
    #: The server keeps those pages as long too and answers the next anonymous visitor from its copy
    #: (portal/page_cache.py; in Redis when REDIS_URL is set). None: on, except in tests.
    PUBLIC_PAGE_SERVER_CACHE = None
    #: Seconds each process keeps the counts over every result (the portal's size on the home page,
    #: results per unit; portal/figures.py). None: 300, except in tests (0: counted each time).
    PUBLIC_COUNTS_MAX_AGE = None
    #: Minutes between two countings of the public scorecard's figures (portal/scorecard/snapshots.py):
    #: the pages serve the last counting and say when it was made. The general worker checks every
    #: minute; `flask scorecard refresh` counts at once.
    SCORECARD_REFRESH_MINUTES = 15
    #: Fixity (docs/import.md, "Fixity"): every stored file is re-hashed once per FIXITY_CYCLE_DAYS,
    #: a slice each night from FIXITY_HOUR (Hanoi time; the general worker).
    FIXITY_CYCLE_DAYS = 30
    FIXITY_HOUR = 1
    #: Addresses told when a fixity check finds a missing or altered file, comma-separated, besides
    #: every active admin account's e-mail address.
    ADMIN_EMAILS = ""
    #: Following results (docs/citizens.md): days before a result's end date when its followers are
    #: reminded (comma-separated in the environment), by the general worker's daily job (08:00 Hanoi).
    FOLLOW_REMINDER_DAYS = (60, 30, 7)
    #: A procedure's page on the national procedure catalogue, linked from reminders for procedures
    #: that are catalogued; "{code}" becomes the procedure's code. Empty: no link.
    FOLLOW_CATALOGUE_URL = ("https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"
                            "?ma_thu_tuc={code}")
    #: Assisted mode at the counter (docs/staff.md): how long a clerk may act for a consenting person,
    #: how long a one-time consent code lives, and its wrong tries / sends per session.
    COUNTER_SESSION_MINUTES = 30
    COUNTER_CODE_MINUTES = 10
    COUNTER_CODE_MAX_ATTEMPTS = 5
    COUNTER_CODE_MAX_SENDS = 3
    #: Largest scanned consent form (PDF, JPEG or PNG), checked like a problem report's attachment.
    COUNTER_CONSENT_MAX_BYTES = 10 * 1024 * 1024
    #: Share links (docs/citizens.md): the longest a holder may let one live (days; 1 to 90), and
    #: openings of unknown share tokens per client address (Flask-Limiter syntax), so that guessing
    #: tokens costs time; real links, even expired ones, are not counted.
    SHARE_MAX_DAYS = 90
    SHARE_UNKNOWN_RATE_LIMIT = "30 per 15 minutes;200 per day"
    #: Personal data (docs/privacy.md): the controller named on the privacy notice (/privacy) and
    #: the address people write to about their data.
    PRIVACY_CONTROLLER = "Ủy ban nhân dân thành phố Hà Nội"
    PRIVACY_CONTACT_EMAIL = "dulieucanhan@hanoi.gov.vn"
    #: Deadlines of rights requests, a JSON file of the shape of portal/privacy/data/deadlines.json;
    #: empty: that file.
    PRIVACY_DEADLINES_FILE = ""
    #: Retention, whole days, enforced by the general worker's daily job (privacy.retention, 02:30
    #: Hanoi): mails written to DATA_DIR/mail and mails left unsent in the outbox; attachments of
    #: problem reports closed that long ago; the audit chain (the access log) older than
    #: RETENTION_ACCESS_LOG_DAYS, from its oldest entry on, after a keyed marker (docs/privacy.md).
    #: Login sessions: LOGIN_SESSION_RETENTION_DAYS (hourly job).
    RETENTION_ACCESS_LOG_DAYS = 5 * 365
    RETENTION_MAIL_DAYS = 90
    RETENTION_UPLOAD_DAYS = 365
    #: Absolute base of links printed on copies and sent by e-mail ("https://ketqua.hanoi.gov.vn");
    #: empty: the host of the request being served.
    PUBLIC_BASE_URL = ""

    #: E-mail to requesters (docs/copies.md, "E-mail notifications"): the SMTP server. MAIL_PORT 0
    #: means 25, or 587 with MAIL_USE_TLS (STARTTLS), or 465 with MAIL_USE_SSL (TLS from the start).
    MAIL_SERVER = "localhost"
    MAIL_PORT = 0
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    #: Login at the SMTP server; empty: none.
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    #: CA certificate(s) the server's TLS certificate must chain to (PEM); empty: the system's.
    MAIL_CA_FILE = ""
    #: Sender of every mail: a name and an address.
    MAIL_FROM = "Cổng kết quả TTHC Hà Nội <no-reply@localhost>"
    #: Seconds to wait for the SMTP server before giving up until the next drain.
    MAIL_TIMEOUT = 10
    #: Write mails to DATA_DIR/mail/*.eml instead of sending them; None: on in development and
    #: tests, off otherwise.
    MAIL_SUPPRESS = None
    #: Tries of a mail the server refuses for now (4xx), minutes apart (1, 2, 4…), before giving up.
    MAIL_MAX_ATTEMPTS = 8

    #: Feedback (docs/feedback.md): rating scales and criteria, and petition categories with their
    #: handling deadlines, as JSON files of the shape of portal/feedback/data/; empty: those files.
    FEEDBACK_RATING_SCALES_FILE = ""
    FEEDBACK_PETITION_CATEGORIES_FILE = ""
    #: Days after it was first given during which a rating can still be changed.
    FEEDBACK_RATING_CHANGE_DAYS = 7
    #: Largest attachment of a problem report (a photo or a PDF).
    FEEDBACK_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    #: Rate limits per client address on the forms (Flask-Limiter syntax): POSTs only.
    FEEDBACK_REPORT_RATE_LIMIT = "10 per hour;30 per day"
    FEEDBACK_PETITION_RATE_LIMIT = "5 per hour;20 per day"
    FEEDBACK_RATING_RATE_LIMIT = "30 per hour"
    FEEDBACK_TRACK_RATE_LIMIT = "10 per 15 minutes"
    #: Public /api/ endpoints without a key, per client address (docs/api.md, "API keys"); a key
    #: has its own daily quota instead.
    API_ANONYMOUS_RATE_LIMIT = "60 per minute;1000 per day"
    #: Retiring API version 1 (portal/api_conventions.py): ISO dates sent as Deprecation / Sunset
    #: headers from the day they are set, and the URL of the successor's documentation. Empty: none.
    API_V1_DEPRECATION = ""
    API_V1_SUNSET = ""
    API_V1_SUCCESSOR = ""

    #: Coverage (docs/coverage.md): requests to digitize a result, per address (POSTs only), and
    #: tracking them (every try, whatever the reference: no lockout per reference).
    COVERAGE_REQUEST_RATE_LIMIT = "5 per hour;20 per day"
    COVERAGE_TRACK_RATE_LIMIT = "10 per 15 minutes"
    #: Budgets of an upload of issued counts (the staff page and `flask coverage load-issued`).
    COVERAGE_ISSUED_MAX_BYTES = 2 * 1024 * 1024
    COVERAGE_ISSUED_MAX_ROWS = 50_000

    #: Reverse proxies in front of the portal that set X-Forwarded-For/-Proto (nginx: 1). The
    #: client address they report is what rate limits and the tracking lock count; 0 trusts none.
    PROXY_FIX_HOPS = 0

    #: Audit chain keys (docs/audit.md), never in the database: the keys, comma- or blank-separated,
    #: the last one writing new entries (the earlier ones only verify); or AUDIT_KEY_FILE, a file of
    #: one key a line, likewise. Neither: outside development and tests the portal refuses to start.
    AUDIT_KEYS = ""
    AUDIT_KEY_FILE = ""
    #: Signed checkpoints of the chain head, one line appended per commit that logged; empty means
    #: DATA_DIR/audit/checkpoints.log. Keep it off the database host, backed up apart from it.
    AUDIT_CHECKPOINT_PATH = ""
    #: fsync each checkpoint line: a power cut then loses none (without it, the newest lines only).
    AUDIT_CHECKPOINT_FSYNC = False

    #: `flask doctor` (docs/operations.md): free space on the disks of DATA_DIR and FILES_ROOT
    #: below these percentages is a warning, then a failure;
    DOCTOR_DISK_WARN_PERCENT = 10
    DOCTOR_DISK_FAIL_PERCENT = 2
    #: a signing or root certificate expiring within this many days is a warning;
    DOCTOR_CERT_WARN_DAYS = 30
    #: a queue consumer whose heartbeat (written every minute) is older is a warning, then a failure;
    DOCTOR_HEARTBEAT_WARN_SECONDS = 180
    DOCTOR_HEARTBEAT_FAIL_SECONDS = 600
    #: seconds any one check may take (a network call, a query) before it counts as failed;
    DOCTOR_CHECK_SECONDS = 10
    #: the index is compared document by document up to this many results, by counts above.
    DOCTOR_SEARCH_FULL_CHECK_MAX = 50_000
    #: /readyz: seconds the search probe may take before the index counts as unusable.
    READYZ_SEARCH_SECONDS = 2
    #: /metrics: the networks that may read it, and a bearer token (32+ characters) that may from
    #: anywhere; everyone else gets a 404 (docs/operations.md).
    METRICS_ALLOW = "127.0.0.1/32 ::1/128"
    METRICS_TOKEN = ""
    #: One JSON line per request on the `portal.access` logger; None: on outside development and tests.
    ACCESS_LOG_JSON = None

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = HANOI_NAME
    LANGUAGES = ("vi", "en")

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_ENABLED = True
    #: Largest request body; batch uploads come through the CLI, so pages stay small.
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    SQLALCHEMY_TRACK_MODIFICATIONS = False


def finalize(config: dict) -> None:
    """Derive paths and the database URL from DATA_DIR once all overrides are in."""
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, str):  # PORTAL_SECRET_KEY_FALLBACKS=old1,old2
        fallbacks = [key.strip() for key in fallbacks.split(",") if key.strip()]
    config["SECRET_KEY_FALLBACKS"] = [str(key) for key in fallbacks]
    # Copies: what one app changes in these mappings never reaches another app of the process.
    config["OIDC_CLAIMS"] = {**DEFAULT_OIDC_CLAIMS, **(config.get("OIDC_CLAIMS") or {})}
    config["OIDC_ACCOUNT_TYPES"] = dict(config["OIDC_ACCOUNT_TYPES"])
    config["REQUIRED_LOA"] = dict(config["REQUIRED_LOA"])
    data_dir = Path(config["DATA_DIR"]).resolve()
    config["DATA_DIR"] = str(data_dir)
    config.setdefault("FILES_ROOT", "")
    if not config["FILES_ROOT"]:
        config["FILES_ROOT"] = str(data_dir / "files")
    if not config["SEARCH_INDEX_DIR"]:
        config["SEARCH_INDEX_DIR"] = str(data_dir / "index")
    if not config.get("COPY_PKI_DIR"):
        config["COPY_PKI_DIR"] = str(data_dir / "pki")
    if not config.get("AUDIT_CHECKPOINT_PATH"):
        config["AUDIT_CHECKPOINT_PATH"] = str(data_dir / "audit" / "checkpoints.log")
    url = config["DATABASE_URL"] or f"sqlite:///{data_dir / 'portal.sqlite3'}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain URLs would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    config["DATABASE_URL"] = url
    config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
