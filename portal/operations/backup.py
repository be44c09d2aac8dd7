"""Backups that restore: the database through its own tool, the file store, the secrets encrypted.

A backup is a directory::

    manifest.json        sha256 and size of every other file; version, revision, counts, time
    database.sqlite3     SQLite's online backup API (a consistent copy while the portal writes)
    database.pgdump      or pg_dump's custom format (one snapshot), --no-owner --no-privileges
    files/ab/cd/<sha256> every blob of the content-addressed store, re-hashed while copied
    secrets.tar.enc      signing keys and certificates, the audit checkpoint file and key file:
                         a tar encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key
                         derived from the passphrase by scrypt, its salt in the manifest

Order of the copy, so that the restored parts agree: the checkpoint file first (every line of it
names an entry committed before, hence in the database snapshot taken next), the database, then
the blobs and keys (a blob and a key are written before the row that names them commits, so every
row of the snapshot finds its blob). Written into ``DIR/.partial-<time>`` and moved into DIR at the
end, manifest.json last: a directory with a manifest is a whole backup.

Why Fernet with scrypt: `cryptography` is already a dependency (signing), Fernet is its audited
high-level recipe (authenticated: a wrong passphrase or an edited byte is refused, never decrypted
into garbage), and scrypt is its memory-hard KDF for passphrases. age/pyrage would add a native
dependency for the same guarantee on a few kilobytes of keys.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from portal.audit import keys as audit_keys
from portal.audit.chain import AuditEntry
from portal.copy_requests.models import IssuedCopy
from portal.files.store import FileStore, replaced_atomically
from portal.records.models import Document, Record

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_DUMP = "database.sqlite3"
PG_DUMP = "database.pgdump"
SECRETS = "secrets.tar.enc"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BLOCK = 1024 * 1024
#: scrypt cost: 2**15 × 8 × 128 bytes = 32 MiB and about 0.1 s, once per backup or restore.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
PASSPHRASE_ENV = "PORTAL_BACKUP_PASSPHRASE"


class BackupRefused(RuntimeError):
    """What cannot be done, in Vietnamese and English; nothing was changed."""

    def __init__(self, vi: str, en: str):
        super().__init__(f"{vi} / {en}")
        self.vi, self.en = vi, en


@dataclass
class Summary:
    directory: Path
    manifest: dict
    seconds: float
    #: Problems that did not stop the work (a blob altered in the live store), vi / en.
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# helpers


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _derive(passphrase: str, salt: bytes) -> Fernet:
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode())))


def _is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database)


def _pg_connection(url: str) -> tuple[list[str], dict[str, str], str | None]:
    """Arguments, environment and schema (from ``options=-csearch_path=…``) of pg_dump/pg_restore."""
    parsed = make_url(url)
    args = ["--dbname", parsed.database or "postgres"]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password  # never on the command line: `ps` shows it
    options = str(parsed.query.get("options") or "")
    match = re.search(r"search_path=([A-Za-z0-9_]+)", options)
    return args, env, match.group(1) if match else None


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise BackupRefused(f"Không tìm thấy {name}: cài gói postgresql-client",
                        f"{name} not found: install Debian's postgresql-client "
                        "(major version ≥ the server's)")


def _files_under(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def _counts(session) -> dict[str, int]:
    return {
        "records": session.scalar(select(func.count()).select_from(Record)),
        "documents": session.scalar(select(func.count()).select_from(Document)),
        "audit_entries": session.scalar(select(func.count()).select_from(AuditEntry)),
        "issued_copies": session.scalar(select(func.count()).select_from(IssuedCopy)),
    }


def _revision(session) -> str | None:
    try:
        return session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # noqa: BLE001 - an empty database has no such table
        session.rollback()
        return None


def _portal_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hanoi-results-portal")
    except PackageNotFoundError:
        return "unknown"


def _secret_sources(config) -> dict[str, Path]:
    """Name in the archive → file on this host: keys and certificates, checkpoints, audit key file."""
    sources: dict[str, Path] = {}
    pki = Path(config["COPY_PKI_DIR"])
    for path in _files_under(pki):
        sources[f"pki/{path.relative_to(pki).as_posix()}"] = path
    for setting in ("COPY_SIGNING_KEY", "COPY_SIGNING_CERT"):
        if config.get(setting) and Path(config[setting]).is_file():
            sources[f"signing/{setting}"] = Path(config[setting])
    checkpoints = Path(config["AUDIT_CHECKPOINT_PATH"])
    if checkpoints.is_file():
        sources["audit/checkpoints.log"] = checkpoints
    key_file = audit_keys.key_file(config)
    if key_file is not None and key_file.is_file():
        sources["audit/keys"] = key_file
    return sources


# ---------------------------------------------------------------------------------------------
# create


def create(config, session, target: Path, passphrase: str,
           progress: Callable[[str], None] = lambda _: None) -> Summary:
    """Write a backup of this portal into ``target`` (missing or empty)."""
    started = time.monotonic()
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupRefused(f"Thư mục {target} không trống: sao lưu vào một thư mục mới",
                            f"{target} is not empty: back up into a new directory")
    if not passphrase:
        raise BackupRefused("Cần mật khẩu để mã hóa khóa", "a passphrase is needed to encrypt the keys")
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    partial = target / f".partial-{stamp.strftime('%Y%m%dT%H%M%S')}"
    partial.mkdir()
    try:
        manifest = _write_backup(config, session, partial, passphrase, stamp, progress)
        for entry in sorted(partial.iterdir()):
            if entry.name != MANIFEST:
                os.rename(entry, target / entry.name)
        os.rename(partial / MANIFEST, target / MANIFEST)  # last: its presence means "whole"
        partial.rmdir()
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    summary = Summary(target, manifest, time.monotonic() - started)
    summary.warnings = manifest["problems"]
    return summary


def _write_backup(config, session, out: Path, passphrase: str, stamp: datetime,
                  progress: Callable[[str], None]) -> dict:
    problems: list[str] = []
    # 1. What must not be ahead of the database: the checkpoint file, read first.
    sources = _secret_sources(config)
    secret_bytes = {name: path.read_bytes() for name, path in sources.items()
                    if name == "audit/checkpoints.log"}
    # 2. The database, one consistent snapshot.
    url = config["SQLALCHEMY_DATABASE_URI"]
    progress("database")
    schema = None
    if _is_postgresql(url):
        args, env, schema = _pg_connection(url)
        command = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                   "--file", str(out / PG_DUMP), *args]
        if schema:
            command += ["--schema", schema]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupRefused(f"pg_dump thất bại: {done.stderr.strip()}",
                                f"pg_dump failed: {done.stderr.strip()}")
        database_file = PG_DUMP
    else:
        _sqlite_copy(_sqlite_path(url), out / SQLITE_DUMP)
        database_file = SQLITE_DUMP
    counts = _counts(session)
    revision = _revision(session)
    session.rollback()  # end the read transaction the counts opened
    # 3. The blobs, each re-hashed while copied: a blob that does not match its name is left out.
    progress("files")
    store_root = Path(config["FILES_ROOT"])
    blobs = 0
    for path in _files_under(store_root):
        if not _SHA256.match(path.name):
            continue  # a temporary file of a write in progress
        relative = Path("files") / path.name[:2] / path.name[2:4] / path.name
        destination = out / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with open(path, "rb") as source_file, open(destination, "wb") as copy_file:
            while block := source_file.read(_BLOCK):
                digest.update(block)
                copy_file.write(block)
        if digest.hexdigest() != path.name:
            destination.unlink()
            problems.append(f"tệp {path} bị thay đổi trong kho, không sao lưu / "
                            f"{path} is altered in the store, left out "
                            f"(hashes to {digest.hexdigest()}; `flask files audit`)")
            continue
        blobs += 1
    # 4. Keys and certificates (read now: every key an issued copy names already exists), encrypted.
    progress("secrets")
    for name, path in _secret_sources(config).items():
        secret_bytes.setdefault(name, path.read_bytes())
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in sorted(secret_bytes.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(stamp.timestamp())
            tar.addfile(info, io.BytesIO(data))
    salt = os.urandom(16)
    (out / SECRETS).write_bytes(_derive(passphrase, salt).encrypt(archive.getvalue()))
    # 5. The manifest, hashing what was written.
    progress("manifest")
    listed = {}
    for path in _files_under(out):
        sha, size = _hash_file(path)
        listed[path.relative_to(out).as_posix()] = {"sha256": sha, "size": size}
    manifest = {
        "format": FORMAT,
        "created_at": stamp.isoformat(),
        "portal_version": _portal_version(),
        "alembic_revision": revision,
        "database": {"kind": "postgresql" if database_file == PG_DUMP else "sqlite", "file": database_file,
                     "schema": schema},
        "counts": {**counts, "files": blobs},
        "secrets": {"file": SECRETS, "cipher": "fernet", "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R,
                    "p": SCRYPT_P, "salt": salt.hex(), "entries": sorted(secret_bytes)},
        "problems": problems,
        "files": listed,
    }
    with open(out / MANIFEST, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    return manifest


# ---------------------------------------------------------------------------------------------
# verify


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise BackupRefused(f"{directory} không có {MANIFEST}: không phải bản sao lưu đầy đủ",
                            f"{directory} has no {MANIFEST}: not a whole backup")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise BackupRefused(f"{MANIFEST} hỏng: {error}", f"{MANIFEST} is malformed: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"Định dạng sao lưu {manifest.get('format')!r} không được hỗ trợ",
                            f"backup format {manifest.get('format')!r} is not supported")
    return manifest


def verify(directory: Path) -> dict:
    """Every file of the manifest there with its size and sha256, and nothing else; returns the
    manifest. Raises BackupRefused naming the first file that does not hold."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    listed = manifest["files"]
    for name, expected in sorted(listed.items()):
        path = directory / name
        if ".." in Path(name).parts or not path.is_file():
            raise BackupRefused(f"Thiếu tệp {name} trong bản sao lưu",
                                f"file {name} is missing from the backup")
        sha, size = _hash_file(path)
        if (sha, size) != (expected["sha256"], expected["size"]):
            raise BackupRefused(f"Tệp {name} không khớp mã băm trong {MANIFEST} (đã bị sửa hoặc hỏng)",
                                f"file {name} does not match its sha256 in {MANIFEST} (altered or damaged)")
    for path in _files_under(directory):
        name = path.relative_to(directory).as_posix()
        if name != MANIFEST and name not in listed:
            raise BackupRefused(f"Tệp {name} không có trong {MANIFEST}", f"file {name} is not in {MANIFEST}")
    return manifest


# ---------------------------------------------------------------------------------------------
# restore


def _decrypt(directory: Path, manifest: dict, passphrase: str) -> dict[str, bytes]:
    meta = manifest["secrets"]
    fernet = _derive(passphrase, bytes.fromhex(meta["salt"]))
    try:
        data = fernet.decrypt((directory / meta["file"]).read_bytes())
    except InvalidToken:
        raise BackupRefused("Sai mật khẩu sao lưu: không khôi phục gì",
                            "wrong backup passphrase: nothing was restored") from None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def _secret_targets(config, names: list[str]) -> dict[str, Path]:
    targets: dict[str, Path] = {}
    for name in names:
        if name.startswith("pki/"):
            relative = Path(name[len("pki/"):])
            if ".." in relative.parts or relative.is_absolute():
                continue
            targets[name] = Path(config["COPY_PKI_DIR"]) / relative
        elif name.startswith("signing/") and config.get(name[len("signing/"):]):
            targets[name] = Path(config[name[len("signing/"):]])
        elif name == "audit/checkpoints.log":
            targets[name] = Path(config["AUDIT_CHECKPOINT_PATH"])
        elif name == "audit/keys" and audit_keys.key_file(config) is not None:
            targets[name] = audit_keys.key_file(config)
    return targets


def _not_empty(config, session, secret_targets: dict[str, Path]) -> list[tuple[str, str]]:
    """What of the target is not empty, as (vi, en) reasons."""
    reasons = []
    url = config["SQLALCHEMY_DATABASE_URI"]
    if _is_postgresql(url):
        schema = _pg_connection(url)[2] or "public"
        tables = inspect(session.get_bind()).get_table_names(schema=schema)
    else:
        tables = inspect(session.get_bind()).get_table_names()
    if tables:
        reasons.append((f"cơ sở dữ liệu đã có {len(tables)} bảng",
                        f"the database already has {len(tables)} tables"))
    if _files_under(Path(config["FILES_ROOT"])):
        root = config["FILES_ROOT"]
        reasons.append((f"kho tệp {root} đã có tệp", f"the file store {root} has files"))
    for name, path in secret_targets.items():
        if not path.is_file() or path.stat().st_size == 0:
            continue
        if name == "audit/keys" and path == audit_keys.development_key_file(config) and not tables:
            continue  # made up by this app's start in development; it signed nothing
        reasons.append((f"{path} đã tồn tại", f"{path} already exists"))
    return reasons


def restore(config, session, directory: Path, passphrase: str,
            progress: Callable[[str], None] = lambda _: None) -> Summary:
    """Restore the backup in ``directory`` into this app's empty database and data directory."""
    started = time.monotonic()
    directory = Path(directory)
    progress("verify")
    manifest = verify(directory)
    database = manifest["database"]
    url = config["SQLALCHEMY_DATABASE_URI"]
    kind = "postgresql" if _is_postgresql(url) else "sqlite"
    if database["kind"] != kind:
        raise BackupRefused(f"Bản sao lưu của {database['kind']}, cấu hình đang dùng {kind}",
                            f"the backup holds a {database['kind']} database, "
                            f"this portal is configured for {kind}")
    secrets = _decrypt(directory, manifest, passphrase)  # a wrong passphrase stops here, nothing written
    targets = _secret_targets(config, list(secrets))
    reasons = _not_empty(config, session, targets)
    session.rollback()
    if reasons:
        raise BackupRefused("Chỉ khôi phục vào nơi trống: " + "; ".join(vi for vi, _ in reasons),
                            "restores only into an empty database and data directory: "
                            + "; ".join(en for _, en in reasons))
    session.close()
    session.get_bind().dispose()  # no pooled connection to the file or schema being replaced
    progress("database")
    if kind == "postgresql":
        _restore_postgresql(url, directory / database["file"], database.get("schema"))
    else:
        _sqlite_copy(directory / database["file"], _sqlite_path(url))
    session.get_bind().dispose()
    progress("files")
    store = FileStore(config["FILES_ROOT"])
    for name in manifest["files"]:
        if name.startswith("files/"):
            sha = Path(name).name
            store.put_file(directory / name, sha)  # hashed again while written: HashMismatch if changed
    progress("secrets")
    for name, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with replaced_atomically(path) as out:
            out.write(secrets[name])
            os.fchmod(out.fileno(), 0o600)
    progress("index")
    from portal.search import get_search
    from portal.search.indexing import reindex

    reindex(session, get_search)
    summary = Summary(directory, manifest, time.monotonic() - started)
    summary.warnings = [f"{name}: không có nơi ghi theo cấu hình / no configured place to restore it to"
                        for name in secrets if name not in targets]
    return summary


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    """SQLite's online backup API: a consistent copy while other connections write."""
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    copy = sqlite3.connect(target_path)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


def _restore_postgresql(url: str, dump: Path, source_schema: str | None) -> None:
    """pg_restore into the configured database; a dump of another schema lands under the
    configured one (restored under its own name, then renamed), which must not exist but empty."""
    import sqlalchemy as sa

    args, env, schema = _pg_connection(url)
    schema = schema or "public"

    admin = sa.create_engine(url.split("?", 1)[0])
    try:
        with admin.begin() as conn:
            existing = set(conn.scalars(sa.text("SELECT nspname FROM pg_namespace")))
            if source_schema and source_schema != schema and source_schema in existing:
                raise BackupRefused(
                    f"Lược đồ {source_schema} của bản sao lưu đã có trong cơ sở dữ liệu đích",
                    f"the backup's schema {source_schema} already exists in the target database")
            if source_schema and schema in existing:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}"'))  # empty (checked): pg_restore makes it
        command = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                   "--single-transaction", *args, str(dump)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupRefused(f"pg_restore thất bại: {done.stderr.strip()}",
                                f"pg_restore failed: {done.stderr.strip()}")
        if source_schema and source_schema != schema:
            with admin.begin() as conn:
                conn.execute(sa.text(f'ALTER SCHEMA "{source_schema}" RENAME TO "{schema}"'))
    finally:
        admin.dispose()


def passphrase_from_environment() -> str | None:
    return os.environ.get(PASSPHRASE_ENV) or None
