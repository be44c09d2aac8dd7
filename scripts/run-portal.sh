#!/usr/bin/env bash
# One command for a newcomer: installs what it needs, loads demo data, serves the portal.
#   bash scripts/run-portal.sh            → http://127.0.0.1:8000
# Embedded defaults: SQLite and the search index under ./var, files on local disk.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

export PORTAL_ENV=development
export PORTAL_DATA_DIR="${PORTAL_DATA_DIR:-$PWD/var}"
export FLASK_APP=app
results="${DEMO_RESULTS:-2000}"
port="${PORT:-8000}"

echo "==> Cơ sở dữ liệu / database: $PORTAL_DATA_DIR"
flask db upgrade
flask refdata
echo "==> Dữ liệu mẫu / demo data: $results results"
flask demo seed --results "$results"
flask search drain

# Index writes go through their own queue and exactly one worker (the embedded engine allows one
# writer); a restarted index worker catches up on the outbox by itself. Other work has its own queue.
huey_consumer portal.worker.index_huey --workers 1 --logfile "$PORTAL_DATA_DIR/huey-index.log" >/dev/null 2>&1 &
index_consumer=$!
huey_consumer portal.worker.huey --workers 2 --logfile "$PORTAL_DATA_DIR/huey.log" >/dev/null 2>&1 &
consumer=$!
trap 'kill $index_consumer $consumer 2>/dev/null || true' EXIT

echo "==> Cổng đang chạy tại / portal running at http://127.0.0.1:$port  (Ctrl+C để dừng / to stop)"
PORTAL_BIND="127.0.0.1:$port" gunicorn app:app
