#!/usr/bin/env bash
# One command for a newcomer: installs what it needs, loads demo data, serves the portal.
#   bash scripts/run-portal.sh            → http://127.0.0.1:8000
# Embedded defaults: SQLite and the search index under ./var, files on local disk.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

export PORTAL_ENV=development
export PORTAL_DATA_DIR="${PORTAL_DATA_DIR:-$PWD/var}"
# Log in as a demo person or business through the development identity provider (/dev-idp).
export PORTAL_DEV_IDP="${PORTAL_DEV_IDP:-1}"
# One secret per data folder: a login started in one gunicorn worker ends in another, and
# survives a restart.
if [ -z "${PORTAL_SECRET_KEY:-}" ]; then
    mkdir -p "$PORTAL_DATA_DIR"
    if [ ! -s "$PORTAL_DATA_DIR/secret-key" ]; then
        (umask 077 && python -c 'import secrets; print(secrets.token_hex(32))' > "$PORTAL_DATA_DIR/secret-key")
    fi
    PORTAL_SECRET_KEY="$(cat "$PORTAL_DATA_DIR/secret-key")"
    export PORTAL_SECRET_KEY
fi
export FLASK_APP=app
results="${DEMO_RESULTS:-2000}"
port="${PORT:-8000}"
# Links in e-mails are made by the worker, which has no request to take the host from.
export PORTAL_PUBLIC_BASE_URL="${PORTAL_PUBLIC_BASE_URL:-http://127.0.0.1:$port}"

echo "==> Cơ sở dữ liệu / database: $PORTAL_DATA_DIR"
flask db upgrade
flask refdata
echo "==> Dữ liệu mẫu / demo data: $results results"
flask demo seed --results "$results"
# DEMO staff accounts with a documented password and TOTP secrets (docs/staff.md); development only.
flask staff demo-accounts
flask demo activity  # a year of made-up requests, ratings and petitions for /scorecard
# DEVELOPMENT ONLY certificate authority and unit keys that sign copies (docs/copies.md).
flask copies dev-ca
flask search drain

# Index writes go through their own queue and exactly one worker (the embedded engine allows one
# writer); a restarted index worker catches up on the outbox by itself. Other work has its own queue.
huey_consumer portal.worker.index_huey --workers 1 --logfile "$PORTAL_DATA_DIR/huey-index.log" >/dev/null 2>&1 &
index_consumer=$!
# The general worker also sends the e-mails to requesters (every minute, and when a consumer starts);
# in development they are written to $PORTAL_DATA_DIR/mail/*.eml unless PORTAL_MAIL_SUPPRESS=0.
huey_consumer portal.worker.huey --workers 2 --logfile "$PORTAL_DATA_DIR/huey.log" >/dev/null 2>&1 &
consumer=$!
# Text from scans on its own queue (docs/ocr.md): the demo's scans are read in the background after
# start (about half a second a page) and search finds their words as they are read.
huey_consumer portal.worker.ocr_huey --workers 1 --logfile "$PORTAL_DATA_DIR/huey-ocr.log" >/dev/null 2>&1 &
ocr_consumer=$!
# Staff batch imports on their own queue: an import of hours never holds up e-mail; a restarted
# import worker resumes the imports its predecessor left part-way (docs/import.md#staff-upload).
huey_consumer portal.worker.import_huey --workers 1 --logfile "$PORTAL_DATA_DIR/huey-import.log" >/dev/null 2>&1 &
import_consumer=$!
trap 'kill $index_consumer $consumer $ocr_consumer $import_consumer 2>/dev/null || true' EXIT

echo "==> Cổng đang chạy tại / portal running at http://127.0.0.1:$port  (Ctrl+C để dừng / to stop)"
if [ "$PORTAL_DEV_IDP" = "1" ]; then
    echo "    Đăng nhập thử / test login: http://127.0.0.1:$port/login → chọn một người dân hoặc doanh nghiệp mẫu"
    echo "    (MÔI TRƯỜNG THỬ NGHIỆM / development only: pick a demo person or business, no password)"
fi
if [ "${PORTAL_MAIL_SUPPRESS:-1}" != "0" ]; then
    echo "    Thư gửi người yêu cầu / e-mail to requesters: $PORTAL_DATA_DIR/mail/*.eml (không gửi đi / not sent)"
fi
PORTAL_BIND="127.0.0.1:$port" gunicorn app:app
