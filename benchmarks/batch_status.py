"""Batch status under load: POST /api/v1/results/status with 100 numbers and a key, beside bare Flask.

    python benchmarks/batch_status.py [--data-dir var] [--seconds 10] [--connections 16] [--found 80]

What a bank's back office costs the portal: every request carries 100 result numbers (``--found``
of them real demo numbers in several spellings, the rest unknown) and a key with status:batch, so
each request also counts against the key's quota (one upsert). Needs a data folder with the demo
(`bash scripts/run-portal.sh` makes `var/`; without one, a fresh demo of ``--results`` results is
made in a temporary folder, ~45 s for 2,000) and Debian's `wrk`. Starts gunicorn with the README's
settings (gunicorn.conf.py: 2 workers x 4 threads) three times: bare Flask's 20-row table (the
floor of benchmarks/pages.py), a bare Flask JSON view answering the same body from a dict (the
floor for this endpoint: parse 100 items, answer 100 entries), and the portal; `wrk -t2 -cN` POSTs
the same body to each and prints requests/s (requests, not items: x100 for numbers/s), latency
percentiles and the share of the JSON floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, jsonify, request

ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/results/status"

#: The JSON floor, run by gunicorn as ``batch_status:bare``: the endpoint's work without a database.
bare = Flask(__name__)
_STATUSES = {f"{n}gpxd": {"number": f"{n}/GPXD", "status": "valid", "valid_to": None} for n in range(5000)}


@bare.get("/")
def _alive():
    return "ok"


@bare.post(URL)
def _bare_batch():
    items = request.get_json()["items"][:100]
    keys = ["".join(ch for ch in item.lower() if ch.isalnum()) for item in items]
    return jsonify({"results": [{"item": item, "found": key in _STATUSES,
                                 "matches": [_STATUSES[key]] if key in _STATUSES else []}
                                for item, key in zip(items, keys, strict=True)]})


def flask_command(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def demo_data(results: int, env: dict[str, str]) -> Path:
    """A fresh demo in a temporary folder (what scripts/run-portal.sh makes, without the workers)."""
    data_dir = Path(tempfile.mkdtemp(prefix="portal-batch-bench-"))
    env["PORTAL_DATA_DIR"] = str(data_dir)
    for args in (("db", "upgrade"), ("refdata",), ("demo", "seed", "--results", str(results))):
        flask_command(env, *args)
    return data_dir


def batch_items(data_dir: Path, found: int) -> list[str]:
    """``found`` numbers of public demo results, spelled as people type them, then unknown ones: 100."""
    db = sqlite3.connect(data_dir / "portal.sqlite3")
    rows = db.execute("SELECT doc_number, doc_notation FROM record WHERE access = 'public' "
                      "AND merged_into_id IS NULL ORDER BY id").fetchall()
    chosen = rows[::max(1, len(rows) // found)][:found]
    spellings = ("{}/{}", "{} / {}", "{}-{}")
    items = [spellings[i % 3].format(number, notation or "").rstrip("/- ").lower() if i % 2
             else spellings[i % 3].format(number, notation or "").rstrip("/- ")
             for i, (number, notation) in enumerate(chosen)]
    return items + [f"{90000 + n}/KHONGCO" for n in range(100 - len(items))]


def start(app: str, port: int, env: dict[str, str], chdir: Path) -> subprocess.Popen:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pages import start as start_gunicorn

    return start_gunicorn(app, port, env, chdir)


def wrk_post(url: str, body: str, headers: dict[str, str], seconds: int,
             connections: int) -> dict[str, float]:
    """wrk POSTing ``body`` (a Lua script sets method, body and headers) → req/s, p50, p99 (ms), non-2xx."""
    script = Path(tempfile.gettempdir()) / f"portal-batch-bench-{os.getpid()}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]",
             *(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items())]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    script.unlink()
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    percentiles = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    latency = {p: float(v) * scale[u] for p, v, u in percentiles}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency["50"],
            "p99": latency["99"], "errors": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=str(ROOT / "var"))
    parser.add_argument("--results", type=int, default=2000, help="demo results when there is no data folder")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--found", type=int, default=80, help="items of the 100 that are real numbers")
    args = parser.parse_args()
    env = dict(os.environ, PORTAL_ENV="development", PORTAL_SECRET_KEY="benchmark-only",
               PORTAL_RATELIMIT_ENABLED="0", FLASK_APP="app",
               PORTAL_API_ANONYMOUS_RATE_LIMIT="10000000 per minute")  # one address calls
    with data_folder(args.data_dir, args.results, env) as data_dir:
        measure(args, env, data_dir)


@contextmanager
def data_folder(path: str, results: int, env: dict[str, str]) -> Iterator[Path]:
    """``path`` when it holds a portal, else a fresh demo of ``results`` results, removed afterwards;
    PORTAL_DATA_DIR of ``env`` points to it."""
    data_dir = Path(path).resolve()
    made = not (data_dir / "portal.sqlite3").exists()
    if made:
        data_dir = demo_data(results, env)
    env["PORTAL_DATA_DIR"] = str(data_dir)
    try:
        yield data_dir
    finally:
        if made:
            shutil.rmtree(data_dir, ignore_errors=True)


def measure(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> None:
    issued = flask_command(env, "api-keys", "issue", "--org", "Benchmark", "--scopes", "status:batch",
                           "--quota", "10000000")
    key = issued.strip().splitlines()[-1]
    items = batch_items(data_dir, args.found)
    body = json.dumps({"items": items}, ensure_ascii=False)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s, gunicorn 2 workers x 4 threads, {data_dir}, 100 items a request "
          f"({args.found} real numbers)")
    print("| server | req/s | numbers/s | p50 ms | p99 ms | non-2xx | share of JSON floor |")
    print("|---|---|---|---|---|---|---|")
    floor = None
    servers = (("bare Flask, 20-row template (GET /)", "bare_flask:app", ROOT / "benchmarks", "/"),
               ("bare Flask, same body from a dict (JSON floor)", "batch_status:bare", ROOT / "benchmarks",
                URL),
               ("portal, POST /api/v1/results/status", "app:app", ROOT, URL))
    for label, app, chdir, path in servers:
        port = _free_port()
        process = start(app, port, env, chdir)
        try:
            url = f"http://127.0.0.1:{port}{path}"
            if path == URL:
                _check_answer(url, body, headers, expect_found=args.found if app == "app:app" else None)
                wrk_post(url, body, headers, 2, args.connections)  # warm up
                result = wrk_post(url, body, headers, args.seconds, args.connections)
            else:
                from pages import wrk

                wrk(url, 2, args.connections)
                result = wrk(url, args.seconds, args.connections)
            floor = result["rps"] if app == "batch_status:bare" else floor
            share = f"{100 * result['rps'] / floor:.0f} %" if floor and path == URL else ""
            numbers = f"{100 * result['rps']:,.0f}" if path == URL else ""
            print(f"| {label} | {result['rps']:,.0f} | {numbers} | {result['p50']:.1f} | "
                  f"{result['p99']:.1f} | {result['errors']} | {share} |", flush=True)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


def _free_port() -> int:
    from pages import free_port

    return free_port()


def _check_answer(url: str, body: str, headers: dict[str, str], expect_found: int | None) -> None:
    """One request first: a benchmark of refusals or empty answers would measure nothing."""
    import urllib.request

    answer = json.load(urllib.request.urlopen(urllib.request.Request(
        url, data=body.encode(), headers=headers, method="POST"), timeout=30))
    found = sum(entry["found"] for entry in answer["results"])
    if len(answer["results"]) != 100 or (expect_found is not None and found < expect_found):
        raise SystemExit(f"unexpected answer: {len(answer['results'])} entries, {found} found")


if __name__ == "__main__":
    main()
