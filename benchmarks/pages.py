"""What a person waits for: each page under concurrent load, beside bare Flask under the same gunicorn.

    python benchmarks/pages.py [--data-dir var] [--seconds 10] [--connections 32] [--server-copy both]

Needs a portal data folder with the demo (`bash scripts/run-portal.sh` makes `var/` with 2,000
results) and Debian's `wrk`. Starts gunicorns with the README's settings (gunicorn.conf.py:
2 workers x 4 threads): the portal on that data, and `bare_flask.py`; runs `wrk -t2 -cN` against
each URL in turn and prints requests/s, latency percentiles and the share of the bare floor.

Two portals, one after the other (``--server-copy both``, the default): "view every time", with the
server's copy of public pages off (PORTAL_PUBLIC_PAGE_SERVER_CACHE=false: what every request of a
page nobody asked for in the last minute costs), then "as deployed", with it on (what a popular page
costs). The "varied queries" rows ask a different search on each request (200 queries drawn from
the data, a wrk Lua script); they run with the copy off only (within its minute the copy would
answer most of 200 queries again).
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


def wrk(url: str, seconds: int, connections: int, paths: list[str] | None = None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if paths:  # a different address on each request, each wrk thread from its own place in the list
        script = Path(f"/tmp/portal-bench-{os.getpid()}.lua")
        listed = ",".join('"' + p.replace('"', "") + '"' for p in paths)
        script.write_text(f"""local paths = {{{listed}}}
local counter = 0
function init(args) counter = math.random(#paths) end
function request() counter = counter + 1; return wrk.format("GET", paths[(counter % #paths) + 1]) end
""")
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": ms("50"), "p99": ms("99"), "errors": int(errors.group(1)) if errors else 0}


def varied_queries(db: sqlite3.Connection, count: int = 200) -> list[str]:
    """Searches as people type them: a document type and a unit name, without tone marks."""
    from urllib.parse import quote_plus

    sys.path.insert(0, str(ROOT))
    from portal.text import fold

    rows = db.execute("SELECT r.doc_type_name, u.name FROM record r JOIN admin_unit u ON u.id = r.issuing_unit_id "
                      "WHERE r.access = 'public' ORDER BY r.id LIMIT ?", (count * 50,)).fetchall()
    chosen = rows[::max(1, len(rows) // count)][:count]
    return [quote_plus(fold(f"{kind} {unit}")) for kind, unit in chosen]


def sample_urls(data_dir: Path) -> dict[str, str | list[str]]:
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
        "search page (varied queries)": [f"/search?q={q}" for q in varied_queries(db)],
        "/api/v1/search (varied queries)": [f"/api/v1/search?q={q}" for q in varied_queries(db)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=str(ROOT / "var"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-copy", choices=("both", "off", "on"), default="both",
                        help="the server's copy of public pages (portal/page_cache.py)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    env = dict(os.environ, PORTAL_ENV="development", PORTAL_DATA_DIR=str(data_dir),
               PORTAL_SECRET_KEY="benchmark-only", PORTAL_RATELIMIT_ENABLED="0",
               # wrk calls from one address: the per-address API limit would answer 429 after 60.
               PORTAL_API_ANONYMOUS_RATE_LIMIT="10000000 per minute")
    bare_port = free_port()
    bare_process = start("bare_flask:app", bare_port, env, ROOT / "benchmarks")
    try:
        wrk(f"http://127.0.0.1:{bare_port}/", 2, args.connections)  # warm up
        bare = wrk(f"http://127.0.0.1:{bare_port}/", args.seconds, args.connections)
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
              f"wrk -t2 -c{args.connections} -d{args.seconds}s, gunicorn 2 workers x 4 threads, {data_dir}")
        print("| page | server copy | req/s | p50 ms | p99 ms | non-2xx | share of bare |")
        print("|---|---|---|---|---|---|---|")
        print(f"| bare Flask, 20-row template | | {bare['rps']:,.0f} | {bare['p50']:.1f} | {bare['p99']:.1f} | "
              f"{bare['errors']} | 100 % |", flush=True)
        modes = ("off", "on") if args.server_copy == "both" else (args.server_copy,)
        for mode in modes:
            portal_env = dict(env, PORTAL_PUBLIC_PAGE_SERVER_CACHE="true" if mode == "on" else "false")
            portal_port = free_port()
            portal = start("app:app", portal_port, portal_env, ROOT)
            try:
                for name, path in sample_urls(data_dir).items():
                    paths = path if isinstance(path, list) else None
                    if paths and mode == "on":  # 200 queries repeat within the copy's minute: not varied
                        continue
                    url = f"http://127.0.0.1:{portal_port}{paths[0] if paths else path}"
                    wrk(url, 2, args.connections, paths)
                    result = wrk(url, args.seconds, args.connections, paths)
                    label = "view every time" if mode == "off" else "as deployed"
                    print(f"| {name} | {label} | {result['rps']:,.0f} | {result['p50']:.1f} | "
                          f"{result['p99']:.1f} | {result['errors']} | {100 * result['rps'] / bare['rps']:.0f} % |",
                          flush=True)
            finally:
                portal.send_signal(signal.SIGTERM)
                portal.wait(10)
    finally:
        bare_process.send_signal(signal.SIGTERM)
        bare_process.wait(10)


if __name__ == "__main__":
    main()
