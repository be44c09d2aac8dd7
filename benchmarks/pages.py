"""What a person waits for: each page under concurrent load, beside bare Flask under the same gunicorn.

    python benchmarks/pages.py [--data-dir var] [--seconds 10] [--connections 32]

Needs a portal data folder with the demo (`bash scripts/run-portal.sh` makes `var/` with 2,000
results) and Debian's `wrk`. Starts two gunicorns with the README's settings (gunicorn.conf.py:
2 workers x 4 threads): the portal on that data, and `bare_flask.py`; runs `wrk -t2 -cN` against
each URL in turn and prints requests/s, latency percentiles and the share of the bare floor.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app: str, port: int, env: dict[str, str], chdir: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(chdir),
               "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null", app]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{app} did not start on port {port}")


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": ms("50"), "p99": ms("99"), "errors": int(errors.group(1)) if errors else 0}


def sample_urls(data_dir: Path) -> dict[str, str]:
    db = sqlite3.connect(data_dir / "portal.sqlite3")
    source_id = db.execute("SELECT source_id FROM record WHERE access = 'public' ORDER BY id LIMIT 1").fetchone()[0]
    slug = db.execute("SELECT slug FROM admin_unit WHERE system = 'current' AND level = 'commune' "
                      "ORDER BY code LIMIT 1").fetchone()[0]
    return {
        "/healthz": "/healthz",
        "home": "/",
        "public result page": f"/results/{source_id}",
        "unit page": f"/units/{slug}",
        "search page (text)": "/search?q=giay+phep+xay+dung+cau+giay",
        "/api/v1/search (text)": "/api/v1/search?q=giay+phep+xay+dung+cau+giay",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=str(ROOT / "var"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    env = dict(os.environ, PORTAL_ENV="development", PORTAL_DATA_DIR=str(data_dir),
               PORTAL_SECRET_KEY="benchmark-only", PORTAL_RATELIMIT_ENABLED="0")
    portal_port, bare_port = free_port(), free_port()
    processes = [start("app:app", portal_port, env, ROOT),
                 start("bare_flask:app", bare_port, env, ROOT / "benchmarks")]
    try:
        wrk(f"http://127.0.0.1:{bare_port}/", 2, args.connections)  # warm both up
        bare = wrk(f"http://127.0.0.1:{bare_port}/", args.seconds, args.connections)
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
              f"wrk -t2 -c{args.connections} -d{args.seconds}s, gunicorn 2 workers x 4 threads")
        print(f"| page | req/s | p50 ms | p99 ms | non-2xx | share of bare |\n|---|---|---|---|---|---|")
        print(f"| bare Flask, 20-row template | {bare['rps']:,.0f} | {bare['p50']:.1f} | {bare['p99']:.1f} | "
              f"{bare['errors']} | 100 % |")
        for name, path in sample_urls(data_dir).items():
            url = f"http://127.0.0.1:{portal_port}{path}"
            wrk(url, 2, args.connections)
            result = wrk(url, args.seconds, args.connections)
            print(f"| {name} | {result['rps']:,.0f} | {result['p50']:.1f} | {result['p99']:.1f} | "
                  f"{result['errors']} | {100 * result['rps'] / bare['rps']:.0f} % |", flush=True)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(10)


if __name__ == "__main__":
    main()
