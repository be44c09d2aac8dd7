"""One inspection for every file a person uploads on the web: cheap checks here, the parsing in a
child process with hard limits, so that a hostile file costs at most one child's budget.

`inspect_upload` is what every web upload calls (problem reports, corrections, /verify, the
staff upload): size in bytes, then the head (content, never the name: magic bytes at offset 0, no
markup), then `inspect_file` in a child (portal/files/inspect_child.py) limited to
UPLOAD_MAX_MEMORY_MB of address space and UPLOAD_MAX_SECONDS of CPU, and waited for at most
UPLOAD_MAX_SECONDS + START_SECONDS of wall-clock time. A child killed by a limit is a refusal
with the budget it broke; the server process never decodes the file.

A child costs about 0.1 s (Python, then pypdf or Pillow) besides the inspection. Imports inspect
thousands of files a run (128 results/s with files): they call `inspect_file` in their own
process, with the same budgets counted as it goes (portal/imports/validation.py).
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from portal.files.inspect import Budgets, FileInfo, UnreadableFile, check_head, too_complex, too_slow

log = logging.getLogger(__name__)

#: Wall-clock seconds a child may take beyond its CPU budget: start-up, and a busy machine.
START_SECONDS = 1.0
CHILD = Path(__file__).with_name("inspect_child.py")


def refusal_text(problem: UnreadableFile) -> str:
    """What a person reads: ``problem`` in the request's language, as a sentence."""
    from flask_babel import get_locale

    locale = get_locale()
    text = problem.text(locale.language if locale is not None else "vi")
    return text[:1].upper() + text[1:] + "."


def too_large(size: int, limit: int) -> UnreadableFile:
    mb = limit / (1024 * 1024)
    return UnreadableFile("too_large", f"Tệp nặng hơn {mb:g} MB, vượt quá giới hạn",
                          f"the file is larger than {mb:g} MB")


def inspect_upload(path: Path, budgets: Budgets, *, max_bytes: int,
                   types: frozenset[str] | None = None) -> FileInfo:
    """What the uploaded file at ``path`` is, within ``budgets``. Raises UnreadableFile: too_large,
    unknown_type or polyglot (cheap checks, nothing parsed), wrong_type (a type not in ``types``),
    a budget's code (portal.files.inspect), corrupt, encrypted, no_pages."""
    size = path.stat().st_size
    if size > max_bytes:
        raise too_large(size, max_bytes)
    with open(path, "rb") as handle:
        media_type = check_head(handle.read(1024))
    if types is not None and media_type not in types:
        raise UnreadableFile("wrong_type", f"Không nhận tệp loại {media_type}",
                             f"{media_type} files are not accepted")
    return inspect_isolated(path, budgets)


def inspect_isolated(path: Path, budgets: Budgets) -> FileInfo:
    """`inspect_file` in a child process with hard limits. Raises UnreadableFile."""
    command = [sys.executable, "-I", str(CHILD), str(path), json.dumps(asdict(budgets))]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=budgets.max_seconds + START_SECONDS, check=False)
    except subprocess.TimeoutExpired:  # run() has killed the child and waited for it
        log.warning("inspection of %s killed after %.1f s", path.name, budgets.max_seconds + START_SECONDS)
        raise too_slow(budgets.max_seconds) from None
    answer = _answer(done.stdout)
    if done.returncode == 0 and answer is not None:
        if "info" in answer:
            return FileInfo(**answer["info"])
        raise UnreadableFile(*answer["refused"])
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise too_slow(budgets.max_seconds)
    log.warning("inspection of %s ended with %s: %s", path.name, done.returncode,
                done.stderr[-500:].decode("utf-8", "replace"))
    raise too_complex(budgets.max_memory_mb)


def _answer(stdout: bytes) -> dict | None:
    try:
        answer = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return answer if isinstance(answer, dict) and ("info" in answer or "refused" in answer) else None
