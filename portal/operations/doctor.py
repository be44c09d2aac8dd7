"""What `flask doctor` and `/readyz` check: plain functions returning results, no printing.

Each check looks at one component the way the portal uses it (the same config, the same engine,
the same queue objects, the same SMTP code) and answers OK, WARN or FAIL with a Vietnamese and an
English line saying what to do. `run` runs every check in its own thread, inside its own app
context, and stops waiting after DOCTOR_CHECK_SECONDS: an unreachable host makes that check FAIL,
never doctor hang. Operators' guide: docs/operations.md, "Health, readiness and flask doctor".
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

OK, WARN, FAIL = "OK", "WARN", "FAIL"
_RANK = {OK: 0, WARN: 1, FAIL: 2}
#: SECRET_KEY values seen in examples and tutorials: a key anyone can read forges sessions.
WEAK_SECRETS = {"dev", "development", "secret", "secret-key", "secretkey", "changeme", "change-me",
                "please-change-me", "test", "testing", "portal", "hanoi", "your-secret-key", "default"}
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    vi: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def worst(results: list[Result]) -> str:
    return max((r.status for r in results), key=_RANK.__getitem__, default=OK)


# -- configuration ---------------------------------------------------------------------------

def check_config(app: Flask) -> list[Result]:
    from portal.audit import keys as audit_keys
    from portal.config import DEVELOPMENT_ENVIRONMENTS, allows_development_shortcuts

    config = app.config
    development = allows_development_shortcuts(config)
    out = []
    env = config["ENV"]
    if env in DEVELOPMENT_ENVIRONMENTS:
        out.append(Result("config.env", WARN,
                          f"PORTAL_ENV={env}: các lối tắt phát triển được bật, không để công chúng "
                          "truy cập.",
                          f"PORTAL_ENV={env}: development shortcuts are allowed; never expose it to the "
                          "public."))
    else:
        out.append(Result("config.env", OK, f"Môi trường PORTAL_ENV={env}.",
                          f"Environment PORTAL_ENV={env}."))

    secret = str(config.get("SECRET_KEY") or "")
    if not secret or secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        status = WARN if development else FAIL
        out.append(Result("config.secret_key", status,
                          f"PORTAL_SECRET_KEY trống, quá ngắn (< {MIN_SECRET_LENGTH} ký tự) hoặc là "
                          "giá trị mẫu: đặt một giá trị ngẫu nhiên dài (python -c 'import secrets; "
                          "print(secrets.token_hex(32))').",
                          f"PORTAL_SECRET_KEY is empty, short (< {MIN_SECRET_LENGTH} characters) or a sample "
                          "value: set a long random one (python -c 'import secrets; "
                          "print(secrets.token_hex(32))')."))
    else:
        out.append(Result("config.secret_key", OK, "PORTAL_SECRET_KEY đã đặt.", "PORTAL_SECRET_KEY is set."))

    try:
        ring = audit_keys.load(config)
    except audit_keys.AuditKeyMissing as error:
        out.append(Result("config.audit_keys", FAIL, f"Thiếu khóa nhật ký kiểm toán: {error}",
                          f"Audit keys missing: {error}"))
    else:
        if ring.source == str(audit_keys.development_key_file(config)) and not development:
            out.append(Result("config.audit_keys", FAIL,
                              "Khóa kiểm toán lấy từ tệp phát triển: đặt PORTAL_AUDIT_KEY_FILE.",
                              "Audit keys come from the development file: set PORTAL_AUDIT_KEY_FILE."))
        else:
            out.append(Result("config.audit_keys", OK,
                              f"{len(ring.keys)} khóa kiểm toán từ {ring.source}.",
                              f"{len(ring.keys)} audit key(s) from {ring.source}."))

    root = Path(config["FILES_ROOT"])
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".doctor-"):
            pass
    except OSError as error:
        out.append(Result("config.files_root", FAIL,
                          f"Không ghi được vào kho tệp {root}: {error.strerror or error}.",
                          f"The file store {root} is not writable: {error.strerror or error}."))
    else:
        out.append(Result("config.files_root", OK, f"Kho tệp {root} ghi được.",
                          f"File store {root} is writable."))
    return out


# -- database and migrations -----------------------------------------------------------------

def check_database(app: Flask) -> list[Result]:
    from alembic.config import Config as AlembicConfig
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from portal.extensions import db

    alembic_config = AlembicConfig()
    alembic_config.set_main_option("script_location", app.extensions["migrate"].directory)
    script = ScriptDirectory.from_config(alembic_config)
    heads = set(script.get_heads())
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # noqa: BLE001 - any driver error means unreachable
        return [Result("database", FAIL, f"Không kết nối được cơ sở dữ liệu: {_brief(error)}",
                       f"The database is unreachable: {_brief(error)}")]
    head_text = ", ".join(sorted(heads))
    if current == heads:
        return [Result("database", OK, f"Cơ sở dữ liệu kết nối được, ở phiên bản mới nhất ({head_text}).",
                       f"Database reachable, migrations at head ({head_text}).")]
    if not current:
        return [Result("database", FAIL, "Cơ sở dữ liệu chưa có lược đồ: chạy `flask db upgrade`.",
                       "The database has no schema: run `flask db upgrade`.")]
    current_text = ", ".join(sorted(current))
    unknown = []
    for revision in current:
        try:
            if script.get_revision(revision) is None:
                unknown.append(revision)
        except CommandError:
            unknown.append(revision)
    if unknown:
        return [Result("database", FAIL,
                       f"Cơ sở dữ liệu ở phiên bản {current_text} mà mã nguồn này không biết (mới hơn mã?); "
                       f"mã mong đợi {head_text}.",
                       f"The database is at revision {current_text}, unknown to this code (newer than the "
                       f"code?); the code expects {head_text}.")]
    return [Result("database", FAIL,
                   f"Cơ sở dữ liệu ở phiên bản {current_text}, chưa tới {head_text}: "
                   "chạy `flask db upgrade`.",
                   f"The database is at revision {current_text}, not at head {head_text}: "
                   "run `flask db upgrade`.")]


# -- search index ----------------------------------------------------------------------------

def check_search(app: Flask) -> list[Result]:
    """The index answers and holds what the database holds: document by document (as `flask search
    check`) up to DOCTOR_SEARCH_FULL_CHECK_MAX results, by counts above (bounded time)."""
    from portal.extensions import db
    from portal.outbox import OutboxItem
    from portal.records.models import Record
    from portal.search import get_search
    from portal.search.indexing import check
    from portal.search.port import SearchUnavailable

    session = db.session
    backend = get_search()
    try:
        indexed = backend.count()
        in_database = session.scalar(select(func.count(Record.id))) or 0
        if in_database <= int(app.config["DOCTOR_SEARCH_FULL_CHECK_MAX"]):
            report = check(session, backend)
            drift = report.as_dict()
            in_step = report.ok
            how = "từng tài liệu / document by document"
        else:
            drift = {"indexed": indexed, "in_database": in_database}
            in_step = indexed == in_database
            how = "theo số lượng / by counts"
    except SearchUnavailable as error:
        advice = "" if "reindex" in str(error) else " (`flask search reindex`)"
        return [Result("search", FAIL, f"Chỉ mục tìm kiếm không dùng được: {error}{advice}.",
                       f"The search index is unusable: {error}{advice}.")]
    pending = session.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.topic.like("search.%"))) or 0
    figures = ", ".join(f"{k}={v}" for k, v in drift.items())
    if in_step:
        return [Result("search", OK, f"Chỉ mục khớp với CSDL ({how}; {figures}).",
                       f"Index in step with the database ({how.split(' / ')[1]}; {figures}).")]
    if pending:
        return [Result("search", WARN,
                       f"Chỉ mục lệch CSDL ({figures}) nhưng còn {pending} thay đổi chờ áp dụng: "
                       "kiểm tra tiến trình index_huey.",
                       f"Index differs from the database ({figures}) with {pending} updates pending: "
                       "check the index_huey consumer.")]
    return [Result("search", FAIL, f"Chỉ mục lệch CSDL ({figures}): chạy `flask search reindex`.",
                   f"Index out of step with the database ({figures}): run `flask search reindex`.")]


# -- job queues ------------------------------------------------------------------------------

def check_queues(app: Flask, queues: Mapping[str, Any] | None = None,
                 now: float | None = None) -> list[Result]:
    """Each queue answers (SQLite file or Redis) and its consumer beat recently (heartbeat.py)."""
    from portal.operations import heartbeat

    queues = heartbeat.QUEUES if queues is None else queues
    now = time.time() if now is None else now
    warn_after = float(app.config["DOCTOR_HEARTBEAT_WARN_SECONDS"])
    fail_after = float(app.config["DOCTOR_HEARTBEAT_FAIL_SECONDS"])
    out = []
    for name, queue in queues.items():
        check_name = f"queue.{name}"
        if queue.immediate:
            out.append(Result(check_name, OK, "Chế độ chạy ngay (HUEY_IMMEDIATE): không cần tiến trình nền.",
                              "Immediate mode (HUEY_IMMEDIATE): tasks run inline, no consumer needed."))
            continue
        where = _queue_location(queue)
        try:
            pending = queue.storage.queue_size()
            last = heartbeat.last_beat(queue)
        except Exception as error:  # noqa: BLE001 - sqlite3 or redis errors alike
            out.append(Result(check_name, FAIL, f"Không truy cập được hàng đợi {where}: {_brief(error)}",
                              f"Queue {where} unreachable: {_brief(error)}"))
            continue
        command = f"huey_consumer portal.worker.{name}"
        age = None if last is None else max(0.0, now - last)
        if age is not None and age <= warn_after:
            out.append(Result(check_name, OK, f"Hàng đợi {where}: {pending} việc chờ; tiến trình nền "
                                              f"báo sống {age:.0f} giây trước.",
                              f"Queue {where}: {pending} pending; consumer beat {age:.0f} s ago."))
            continue
        busy = _running_import() if name == "import_huey" else None
        if busy:
            out.append(Result(check_name, OK, f"Tiến trình nền đang chạy việc nhập lô #{busy} (nhịp của việc "
                                              "nhập còn mới).",
                              f"The consumer is busy with import job #{busy} (its heartbeat is fresh)."))
            continue
        if age is None:
            vi_age, en_age = "chưa bao giờ báo sống", "has never beaten"
        else:
            vi_age, en_age = f"báo sống lần cuối {age:.0f} giây trước", f"last beat {age:.0f} s ago"
        status = WARN if age is not None and age <= fail_after else FAIL
        out.append(Result(check_name, status,
                          f"Hàng đợi {where}: {pending} việc chờ; tiến trình nền {vi_age}: "
                          f"kiểm tra `{command}`.",
                          f"Queue {where}: {pending} pending; the consumer {en_age}: check `{command}`."))
    return out


def _queue_location(queue: Any) -> str:
    filename = getattr(queue.storage, "filename", None)
    return f"{queue.name} ({filename})" if filename else f"{queue.name} (Redis)"


def _running_import() -> int | None:
    """Id of an import whose own heartbeat is fresh: the one-worker import consumer is alive but busy."""
    from portal.extensions import db
    from portal.imports.job_models import ImportJob, JobStatus

    fresh = datetime.now(UTC) - timedelta(seconds=int(current_app.config["IMPORT_STALL_SECONDS"]))
    return db.session.scalar(select(ImportJob.id).where(ImportJob.status == JobStatus.RUNNING,
                                                        ImportJob.heartbeat_at >= fresh).limit(1))


# -- mail ------------------------------------------------------------------------------------

def check_mail(app: Flask) -> list[Result]:
    from portal.config import allows_development_shortcuts
    from portal.mail import Mailer, MailError

    config = app.config
    if config["MAIL_SUPPRESS"]:
        folder = Path(config["DATA_DIR"]) / "mail"
        status = OK if allows_development_shortcuts(config) else WARN
        return [Result("mail", status, f"PORTAL_MAIL_SUPPRESS bật: thư được ghi vào {folder}, không gửi đi.",
                       f"PORTAL_MAIL_SUPPRESS is on: mails are written to {folder}, not sent.")]
    where = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    seconds = min(float(config["MAIL_TIMEOUT"]), float(config["DOCTOR_CHECK_SECONDS"]))
    mailer = Mailer({**config, "MAIL_TIMEOUT": seconds})
    try:
        mailer.open()  # connect, greeting, STARTTLS or SMTPS, login: what sending does first
        smtp = mailer._smtp  # noqa: SLF001 - the session Mailer opened; only asked to say hello
        code, _ = smtp.ehlo()
        if code != 250:
            raise MailError(f"EHLO answered {code}")
        code, _ = smtp.noop()
        if code != 250:
            raise MailError(f"NOOP answered {code}")
    except (MailError, OSError) as error:
        return [Result("mail", FAIL,
                       f"Máy chủ thư {where} không dùng được: {error}. Thư vẫn chờ trong outbox.",
                       f"SMTP server {where} unusable: {error}. Mails wait in the outbox meanwhile.")]
    finally:
        mailer.close()
    return [Result("mail", OK, f"Máy chủ thư {where} trả lời (EHLO, NOOP).",
                   f"SMTP server {where} answers (EHLO, NOOP).")]


# -- signing keys and certificates -----------------------------------------------------------

def check_signing(app: Flask, now: datetime | None = None) -> list[Result]:
    """Signing keys present and every certificate (signing, chain, trust roots) within its dates."""
    from cryptography import x509

    from portal.config import allows_development_shortcuts
    from portal.copy_requests import devca, keys

    config = app.config
    now = now or datetime.now(UTC)
    development = allows_development_shortcuts(config)
    certificates: list[Path] = []
    problems: list[tuple[str, str]] = []
    if config.get("COPY_SIGNING_KEY") or config.get("COPY_SIGNING_CERT"):
        pairs = [(Path(config.get("COPY_SIGNING_KEY") or ""), Path(config.get("COPY_SIGNING_CERT") or ""))]
        chain = (config.get("COPY_SIGNING_CHAIN") or "").split(",")
        certificates += [Path(p.strip()) for p in chain if p.strip()]
    else:
        units = keys.pki_dir(config) / "units"
        folders = sorted(d for d in units.iterdir() if d.is_dir()) if units.is_dir() else []
        pairs = [(d / "key.pem", d / "cert.pem") for d in folders]
        certificates += [d / "chain.pem" for d in folders if (d / "chain.pem").is_file()]
        if not development:
            # A unit whose clerks issue copies but that has no key: its copies fail (SigningUnavailable).
            without = sorted(set(_units_with_staff()) - {d.name for d in folders})
            if without:
                shown = ", ".join(without[:5]) + (" …" if len(without) > 5 else "")
                problems.append((f"{len(without)} đơn vị có cán bộ nhưng không có khóa ký ({shown})",
                                 f"{len(without)} unit(s) with staff but no signing key ({shown})"))
    for key, cert in pairs:
        if not key.is_file() or not cert.is_file():
            problems.append((f"thiếu khóa hoặc chứng thư: {key} / {cert}",
                             f"key or certificate missing: {key} / {cert}"))
        else:
            certificates.append(cert)
    roots = [Path(p.strip()) for p in (config.get("COPY_TRUST_ROOTS") or "").split(",") if p.strip()]
    for root in roots:
        if not root.is_file():
            problems.append((f"thiếu chứng thư gốc {root}", f"trust root {root} missing"))
    certificates += [r for r in roots if r.is_file()]
    dev_root = keys.pki_dir(config) / "root.crt"
    if not roots and dev_root.is_file():
        certificates.append(dev_root)

    warn_days = int(config["DOCTOR_CERT_WARN_DAYS"])
    expiring: list[tuple[datetime, Path]] = []
    for path in certificates:
        try:
            loaded = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as error:
            problems.append((f"không đọc được {path}: {error}", f"cannot read {path}: {error}"))
            continue
        for certificate in loaded:
            ends = certificate.not_valid_after_utc
            if ends <= now:
                problems.append((f"{path} đã hết hạn ngày {ends:%d/%m/%Y}",
                                 f"{path} expired on {ends:%Y-%m-%d}"))
            elif certificate.not_valid_before_utc > now:
                problems.append((f"{path} chưa có hiệu lực", f"{path} is not valid yet"))
            else:
                expiring.append((ends, path))
            if not development and devca.DEV_MARK in certificate.subject.rfc4514_string():
                problems.append((f"{path} là chứng thư {devca.DEV_MARK}",
                                 f"{path} is a {devca.DEV_MARK} certificate"))
    if problems:
        shown = problems[:3]
        more = f" (+{len(problems) - 3})" if len(problems) > 3 else ""
        return [Result("signing", FAIL, "Khóa ký bản sao: " + "; ".join(vi for vi, _ in shown) + more,
                       "Copy signing: " + "; ".join(en for _, en in shown) + more)]
    if not pairs:
        if development and devca.has_root(config):
            return [Result("signing", OK, "Chưa có khóa đơn vị; CA phát triển tạo khi ký bản sao đầu tiên.",
                           "No unit key yet; the development CA makes one at the first signed copy.")]
        return [Result("signing", WARN if development else FAIL,
                       "Không có khóa ký bản sao: không cấp được bản sao điện tử (docs/copies.md).",
                       "No copy signing key: signed copies cannot be issued (docs/copies.md).")]
    soonest, path = min(expiring)
    days = (soonest - now).days
    if days < warn_days:
        return [Result("signing", WARN, f"{path} hết hạn sau {days} ngày ({soonest:%d/%m/%Y}): gia hạn ngay.",
                       f"{path} expires in {days} days ({soonest:%Y-%m-%d}): renew it now.")]
    return [Result("signing", OK, f"{len(pairs)} khóa ký, {len(expiring)} chứng thư; hết hạn sớm nhất "
                                  f"{soonest:%d/%m/%Y}.",
                   f"{len(pairs)} signing key(s), {len(expiring)} certificate(s); the first expires "
                   f"{soonest:%Y-%m-%d}.")]


def _units_with_staff() -> list[str]:
    """Codes of the current units that have staff, hence may issue signed copies."""
    from portal.extensions import db
    from portal.identity.models import staff_unit
    from portal.units.models import AdminUnit, UnitSystem

    return list(db.session.scalars(select(AdminUnit.code).where(
        AdminUnit.id.in_(select(staff_unit.c.unit_id)), AdminUnit.system == UnitSystem.CURRENT)))


# -- OpenID discovery ------------------------------------------------------------------------

def check_oidc(app: Flask) -> list[Result]:
    import requests

    config = app.config
    issuer = str(config.get("OIDC_ISSUER") or "").rstrip("/")
    if not issuer:
        if config.get("DEV_IDP"):
            return [Result("oidc", OK, "Dùng nhà cung cấp định danh phát triển (/dev-idp).",
                           "The development identity provider (/dev-idp) is used.")]
        return [Result("oidc", WARN, "PORTAL_OIDC_ISSUER chưa đặt: người dân không đăng nhập được.",
                       "PORTAL_OIDC_ISSUER is not set: citizens cannot log in.")]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        answer = requests.get(url, timeout=min(5.0, float(config["DOCTOR_CHECK_SECONDS"])))
        answer.raise_for_status()
        document = answer.json()
        missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise ValueError(f"issuer {document.get('issuer')!r} differs")
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
    except (requests.RequestException, ValueError) as error:
        return [Result("oidc", FAIL, f"Không đọc được cấu hình OpenID tại {url}: {_brief(error)}. "
                                     "Người dân không đăng nhập được.",
                       f"OpenID discovery at {url} failed: {_brief(error)}. Citizens cannot log in.")]
    return [Result("oidc", OK, f"Cấu hình OpenID tại {url} đọc được.", f"OpenID discovery at {url} answers.")]


# -- free disk -------------------------------------------------------------------------------

def check_disk(app: Flask) -> list[Result]:
    config = app.config
    warn, fail = float(config["DOCTOR_DISK_WARN_PERCENT"]), float(config["DOCTOR_DISK_FAIL_PERCENT"])
    seen: set[int] = set()
    out = []
    for label in ("DATA_DIR", "FILES_ROOT"):
        path = Path(config[label])
        while not path.exists() and path != path.parent:
            path = path.parent
        device = path.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        usage = shutil.disk_usage(path)
        share = 100.0 * usage.free / usage.total if usage.total else 0.0
        free = f"{usage.free / 1024**3:.1f} GiB ({share:.1f} %)"
        status = FAIL if share < fail else WARN if share < warn else OK
        vi = f"{label} {path}: còn trống {free}"
        en = f"{label} {path}: {free} free"
        if status != OK:
            limit = fail if status == FAIL else warn
            vi += f", dưới ngưỡng {limit:g} %: giải phóng hoặc mở rộng ổ đĩa."
            en += f", below {limit:g} %: free or grow the disk."
        out.append(Result(f"disk.{label.lower()}", status, vi + ("" if status != OK else "."),
                          en + ("" if status != OK else ".")))
    return out


#: Every check `flask doctor` runs, in the order printed.
CHECKS: tuple[tuple[str, Callable[[Flask], list[Result]]], ...] = (
    ("config", check_config), ("database", check_database), ("search", check_search),
    ("queues", check_queues), ("mail", check_mail), ("signing", check_signing), ("oidc", check_oidc),
    ("disk", check_disk),
)


def run(app: Flask, checks: tuple[tuple[str, Callable[[Flask], list[Result]]], ...] = CHECKS,
        seconds: float | None = None) -> list[Result]:
    """Run the checks side by side, each in its own thread and app context; a check still running
    after ``seconds`` (DOCTOR_CHECK_SECONDS) is reported as FAIL and left behind (a daemon thread)."""
    seconds = float(app.config["DOCTOR_CHECK_SECONDS"]) if seconds is None else seconds
    answers: dict[str, list[Result]] = {}

    def work(name: str, check: Callable[[Flask], list[Result]]) -> None:
        from portal.extensions import db

        with app.app_context():
            try:
                answers[name] = check(app)
            except Exception as error:  # noqa: BLE001 - a broken check is a failed check
                answers[name] = [Result(name, FAIL, f"Kiểm tra lỗi: {_brief(error)}",
                                        f"Check failed: {_brief(error)}")]
            finally:
                try:
                    db.session.remove()
                except Exception:  # noqa: BLE001, S110 - the connection may be what failed
                    pass

    threads = [threading.Thread(target=work, args=(name, check), daemon=True, name=f"doctor-{name}")
               for name, check in checks]
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.start()
    results = []
    for (name, _check), thread in zip(checks, threads, strict=True):
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive() or name not in answers:
            results.append(Result(name, FAIL, f"Quá {seconds:g} giây không có câu trả lời.",
                                  f"No answer within {seconds:g} s."))
        else:
            results += answers[name]
    return results


def report(results: list[Result]) -> dict[str, Any]:
    """The JSON of `flask doctor --json`."""
    return {"status": worst(results), "checks": [r.as_dict() for r in results]}


# -- readiness (/readyz) ---------------------------------------------------------------------

def readiness(session: Session, backend: Any, seconds: float) -> dict[str, str]:
    """Component → "ok" / "unavailable", cheaply: one statement, one index count within ``seconds``.

    The index probe runs in a daemon thread so a hung engine answers "unavailable" in time; the
    embedded engine's count is a readlink and a reload, Meilisearch's one stats call.
    """
    checks = {}
    try:
        session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any driver error: not ready
        checks["database"] = "unavailable"
        try:
            session.rollback()
        except Exception:  # noqa: BLE001 - the connection is what failed
            pass
    outcome: dict[str, bool] = {}

    def probe() -> None:
        try:
            backend.count()
            outcome["ok"] = True
        except Exception:  # noqa: BLE001 - SearchUnavailable, or the client's own errors
            outcome["ok"] = False

    thread = threading.Thread(target=probe, daemon=True, name="readyz-search")
    thread.start()
    thread.join(seconds)
    checks["search"] = "ok" if outcome.get("ok") else "unavailable"
    return checks


def _brief(error: BaseException) -> str:
    text_ = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text_[:200]}" if text_ else type(error).__name__
