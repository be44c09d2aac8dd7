"""Check the status of many Hanoi administrative-procedure results with the portal's API.

    export PORTAL_API_KEY=hnp_…            # a key with the status:batch scope
    python check_status.py numbers.txt --base-url https://portal.example > statuses.csv
    python check_status.py numbers.txt --format table

numbers.txt: one result number ("123/GPXD", spacing and case do not matter) or result id
(source_id) a line; blank lines and lines starting with # are skipped. The numbers go in batches of
100 (the most one request takes, counted once against the key's daily quota). Output: one line per
result found (a number shared by several units gives several), or one "not found" line, in the
order of the file. Exit status 0 when every batch was answered, 1 otherwise (the API's message is
printed on stderr). Needs `requests` (pip install requests).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import requests

BATCH = 100  # the API's limit per request
COLUMNS = ("item", "found", "status", "number", "source_id", "issuing_unit", "valid_to")


def read_items(path: str, limit: int) -> list[str]:
    with (sys.stdin if path == "-" else open(path, encoding="utf-8")) as lines:
        items = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if len(items) > limit:
        raise SystemExit(f"{len(items)} numbers in {path}; at most {limit} (--max)")
    return items


def post_batch(session: requests.Session, url: str, items: list[str], retries: int = 3) -> dict:
    """One batch's answer; waits out a 429 (Retry-After) a few times, raises on any other error."""
    for _attempt in range(retries + 1):
        response = session.post(url, json={"items": items}, timeout=60)
        if response.status_code == 429 and _attempt < retries:
            wait = int(response.headers.get("Retry-After", "5"))
            if wait > 300:  # the day's quota is spent: waiting until Hanoi midnight is the caller's call
                break
            time.sleep(wait)
            continue
        break
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RuntimeError(f"HTTP {response.status_code}: {detail}")
    return response.json()


def rows(answer: dict):
    for result in answer["results"]:
        if not result["found"]:
            yield {"item": result["item"], "found": "no", "status": "", "number": "", "source_id": "",
                   "issuing_unit": "", "valid_to": ""}
        for match in result["matches"]:
            yield {"item": result["item"], "found": "yes", "status": match["status"],
                   "number": match["number"], "source_id": match["source_id"],
                   "issuing_unit": match["issuing_unit"]["name"], "valid_to": match["valid_to"] or ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="one result number or id a line; - for standard input")
    parser.add_argument("--base-url", default=os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"))
    parser.add_argument("--format", choices=("csv", "table"), default="csv")
    parser.add_argument("--max", type=int, default=10_000, help="refuse files with more numbers than this")
    args = parser.parse_args(argv)
    key = os.environ.get("PORTAL_API_KEY")
    if not key:
        parser.error("set PORTAL_API_KEY to a key with the status:batch scope")
    items = read_items(args.file, args.max)
    url = args.base_url.rstrip("/") + "/api/v1/results/status"
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Accept": "application/json"})
    out, failed = [], False
    for start in range(0, len(items), BATCH):
        try:
            answer = post_batch(session, url, items[start:start + BATCH])
        except (RuntimeError, requests.RequestException) as error:
            print(f"numbers {start + 1}-{min(start + BATCH, len(items))}: {error}", file=sys.stderr)
            failed = True
            continue
        out.extend(rows(answer))
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    else:
        widths = {c: max([len(c), *(len(r[c]) for r in out)]) for c in COLUMNS}
        print("  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip())
        for row in out:
            print("  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
