"""What the gunicorn workers hold in memory, at rest and after searches (issue 12, "Worker memory").

    python benchmarks/worker_memory.py [--data-dir var] [--searches 400]

Starts the portal with the README's gunicorn settings on a data folder (server page copy off, so
every request runs), reads each worker's /proc/<pid>/smaps_rollup at rest, asks for N search pages
(varied words and pages), and reads it again: Rss, Pss (shared pages divided among the processes
mapping them), anonymous memory, and the resident part of the mapped index files.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["giay phep xay dung", "dang ky kinh doanh", "giay chung nhan", "nguyen van", "quyen su dung dat",
         "ho kinh doanh", "cau giay", "ba dinh", "tran thi", "le van"]


def rollup(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        match = re.match(r"(\w+):\s+(\d+) kB", line)
        if match:
            values[match.group(1)] = int(match.group(2)) // 1024
    return values


def index_resident(pid: int) -> int:
    total, mapping = 0, ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            mapping = line
        elif line.startswith("Rss:") and "/index/" in mapping:
            total += int(line.split()[1])
    return total // 1024


def report(label: str, master: int) -> None:
    workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    for pid in map(int, workers):
        m = rollup(pid)
        print(f"| {label} | {pid} | {m['Rss']} | {m['Pss']} | {m['Anonymous']} | {m['Shared_Clean']} | "
              f"{index_resident(pid)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=str(ROOT / "var"))
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--port", type=int, default=8937)
    args = parser.parse_args()
    env = dict(os.environ, PORTAL_ENV="development", PORTAL_DATA_DIR=str(Path(args.data_dir).resolve()),
               PORTAL_SECRET_KEY="benchmark-only", PORTAL_PUBLIC_PAGE_SERVER_CACHE="false",
               PORTAL_RATELIMIT_ENABLED="0",  # and the API's per-address limit (one address here):
               PORTAL_API_ANONYMOUS_RATE_LIMIT="10000000 per minute")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                               "--chdir", str(ROOT), "--bind", f"127.0.0.1:{args.port}", "app:app"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        print("| when | worker | Rss MB | Pss MB | anonymous MB | shared clean MB | index mmap MB |")
        print("|---|---|---|---|---|---|---|")
        report("at rest", server.pid)
        for i in range(args.searches):
            text = WORDS[i % len(WORDS)] + (f" {i}" if i % 3 == 0 else "")
            urllib.request.urlopen(f"{base}/search?q={urllib.parse.quote_plus(text)}&page={1 + i % 5}").read()
        report(f"after {args.searches} searches", server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)


if __name__ == "__main__":
    main()
