#!/usr/bin/env bash
# All benchmarks, one command:  bash benchmarks/run.sh [N] [M]
#   N: demo results for the import benchmark of issue 2 (default 100000)
#   M: demo results for the search benchmark of issue 3 (default 1000000; about 35 min on 2 cores)
# Prints the numbers recorded in docs/benchmarks.md. Not part of the test suite.
set -euo pipefail
source "$(dirname "$0")/../scripts/setup.sh"
# The page benchmarks load the server with Debian's wrk, the load test with locust (PyPI extra).
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; else
        echo "benchmarks/pages.py needs wrk: sudo apt-get install wrk" >&2; exit 1; fi
fi
python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
n="${1:-100000}"
echo "== $(date -u +%F) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB =="
python benchmarks/import_and_search.py --results "$n"
python benchmarks/import_and_search.py --results "$n" --skip-files \
    --database-url "${BENCH_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench}"
python benchmarks/search_engine.py "$n"
scale_dir="$(mktemp -d)"
python benchmarks/search_at_scale.py --results "${2:-1000000}" --workdir "$scale_dir" --keep \
    --pg-url "${BENCH_PG_URL_BASE:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
# Full reindex of that database step by step (issue 12), on SQLite and a PostgreSQL copy of it,
# then a reindex while results are corrected and the index worker applies them (check: no drift).
python benchmarks/reindex.py --data-dir "$scale_dir/sqlite" --index-dir "$scale_dir/reindex" --orm \
    --pg-from-sqlite bench_reindex
python benchmarks/reindex.py --data-dir "$scale_dir/sqlite" --concurrent --workdir "$scale_dir/concurrent"
# Pages beside bare Flask at a million results (issue 12), then what the workers hold in memory.
python benchmarks/pages.py --data-dir "$scale_dir/sqlite"
python benchmarks/worker_memory.py --data-dir "$scale_dir/sqlite" --searches 3000
rm -rf "$scale_dir"
python benchmarks/signing.py --copies 40
# OCR of the demo scans, whose text is known: CER and pages/s (issue 14, item 3)
python benchmarks/ocr.py --pages 20
# Pages under load beside bare Flask on the README's demo (scripts/run-portal.sh makes var/)
if [ -f var/portal.sqlite3 ]; then
    python benchmarks/pages.py --data-dir var
    python benchmarks/worker_memory.py --data-dir var
fi
# Batch status API, 100 numbers a request with a key, beside bare Flask (issue 15); var/ or a fresh demo
python benchmarks/batch_status.py --data-dir var
python benchmarks/api_keyed.py --data-dir var
python benchmarks/scorecard.py --requests 100000
# Locust, 300 users for 5 minutes on 1,000,000 results in PostgreSQL (builds them the first time,
# ~20 min, in ../bench-load; --reuse after), then the highest user count meeting p95 <= 300 ms.
python benchmarks/load_test.py --reuse
python benchmarks/load_test.py --reuse --find-max
