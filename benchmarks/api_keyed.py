"""Keyed API calls under load: the key's daily count in the database, then in Redis, beside bare Flask.

    python benchmarks/api_keyed.py [--data-dir var] [--seconds 10] [--connections 8] [--redis-url URL]

Every request carries a key, so each is counted against the key's daily quota
(portal/api_keys/quota.py): without Redis one upsert of the same row (one key, one day) per request,
with Redis one INCR. `wrk -t2 -cN` GETs a public result and the procedures list with the key from
the portal under gunicorn (gunicorn.conf.py: 2 workers x 4 threads), started once without and once
with ``PORTAL_REDIS_URL`` (default: the machine's Redis, database 9, emptied first); bare Flask's
20-row table under the same gunicorn is the floor. Needs a demo data folder (or makes one: ~45 s)
and Debian's wrk.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from batch_status import data_folder, flask_command, start

ROOT = Path(__file__).resolve().parent.parent


def wrk_get(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    script = Path(tempfile.gettempdir()) / f"portal-keyed-bench-{os.getpid()}.lua"
    script.write_text("\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()) + "\n")
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    script.unlink()
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {p: float(v) * scale[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency["50"],
            "p99": latency["99"], "errors": int(errors.group(1)) if errors else 0}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=str(ROOT / "var"))
    parser.add_argument("--results", type=int, default=2000, help="demo results when there is no data folder")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    env = dict(os.environ, PORTAL_ENV="development", PORTAL_SECRET_KEY="benchmark-only", FLASK_APP="app")
    env.pop("PORTAL_REDIS_URL", None)
    with data_folder(args.data_dir, args.results, env) as data_dir:
        measure(args, env, data_dir)


def measure(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> None:
    import redis

    key = flask_command(env, "api-keys", "issue", "--org", "Benchmark", "--scopes", "status:batch",
                        "--quota", "10000000").strip().splitlines()[-1]
    source_id = sqlite3.connect(data_dir / "portal.sqlite3").execute(
        "SELECT source_id FROM record WHERE access = 'public' AND merged_into_id IS NULL ORDER BY id").fetchone()[0]
    paths = {"GET /api/v1/results/{id}": f"/api/v1/results/{source_id}",
             "GET /api/v1/procedures": "/api/v1/procedures?per_page=20"}
    headers = {"Authorization": f"Bearer {key}"}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, wrk -t2 -c{args.connections} -d{args.seconds}s, "
          f"gunicorn 2 workers x 4 threads, {data_dir}")
    print("| server | request | key counted in | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|---|---|")
    port = _free_port()
    bare = start("bare_flask:app", port, env, ROOT / "benchmarks")
    try:
        wrk_get(f"http://127.0.0.1:{port}/", {}, 2, args.connections)
        result = wrk_get(f"http://127.0.0.1:{port}/", {}, args.seconds, args.connections)
        print(f"| bare Flask | GET / (20-row table) | | {result['rps']:,.0f} | {result['p50']:.1f} | "
              f"{result['p99']:.1f} | {result['errors']} |")
    finally:
        bare.terminate()
        bare.wait()
    for counted_in, extra in (("database", {}), ("Redis", {"PORTAL_REDIS_URL": args.redis_url})):
        if extra:
            redis.Redis.from_url(args.redis_url).flushdb()
        port = _free_port()
        portal = start("app:app", port, {**env, **extra}, ROOT)
        try:
            for label, path in paths.items():
                url = f"http://127.0.0.1:{port}{path}"
                wrk_get(url, headers, 2, args.connections)  # warm up
                result = wrk_get(url, headers, args.seconds, args.connections)
                print(f"| portal | {label} | {counted_in} | {result['rps']:,.0f} | {result['p50']:.1f} | "
                      f"{result['p99']:.1f} | {result['errors']} |")
        finally:
            portal.terminate()
            portal.wait()


if __name__ == "__main__":
    main()
