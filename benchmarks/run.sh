#!/usr/bin/env bash
# All benchmarks, one command:  bash benchmarks/run.sh [N] [M]
#   N: demo results for the import benchmark of issue 2 (default 100000)
#   M: demo results for the search benchmark of issue 3 (default 1000000; about 35 min on 2 cores)
# Prints the numbers recorded in docs/benchmarks.md. Not part of the test suite.
set -euo pipefail
source "$(dirname "$0")/../scripts/setup.sh"
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
rm -rf "$scale_dir"
python benchmarks/signing.py --copies 40
# Pages under load beside bare Flask (needs the demo of scripts/run-portal.sh in var/ and Debian's wrk)
[ -f var/portal.sqlite3 ] && python benchmarks/pages.py --data-dir var
python benchmarks/scorecard.py --requests 100000
