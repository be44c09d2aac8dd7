#!/usr/bin/env bash
# One command for the whole suite: installs what it needs, runs every test on SQLite, then on
# the PostgreSQL at 127.0.0.1:5432 (database "test"); fails if PostgreSQL is unreachable.
#   bash scripts/run-tests.sh [pytest args…]
set -euo pipefail
source "$(dirname "$0")/setup.sh"

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> Cài Chromium cho kiểm thử trình duyệt / installing Chromium for the browser tests"
        apt-get update -qq && apt-get install -y -qq chromium
    else
        echo "Cần Chromium cho kiểm thử trình duyệt / the browser tests need Chromium:" >&2
        echo "  sudo apt-get install chromium   (then run this script again)" >&2
        exit 1
    fi
fi

# The production layout's test runs Debian's nginx, unprivileged, in front of the app
# (tests/operations/test_nginx.py, deploy/nginx/).
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> Cài nginx cho kiểm thử bố cục triển khai / installing nginx for the deployment test"
        apt-get update -qq && apt-get install -y -qq nginx
    else
        echo "Cần nginx cho kiểm thử triển khai / the deployment test needs nginx:" >&2
        echo "  sudo apt-get install nginx   (then run this script again)" >&2
        exit 1
    fi
fi

# `flask backup` dumps and restores PostgreSQL with pg_dump / pg_restore (tests/operations/test_backup.py);
# Debian's postgresql-client must be of the server's major version or newer.
if ! command -v pg_dump >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_dump >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> Cài postgresql-client cho kiểm thử sao lưu / installing postgresql-client for the backup test"
        apt-get update -qq && apt-get install -y -qq postgresql-client
    else
        echo "Cần pg_dump cho kiểm thử sao lưu / the backup test needs pg_dump:" >&2
        echo "  sudo apt-get install postgresql-client   (then run this script again)" >&2
        exit 1
    fi
fi

# The login tests run a real OpenID provider (panva oidc-provider) on Node: install it from the
# committed lock file when node_modules is missing or older than the lock.
provider_dir="tests/identity/oidc_provider"
lock_sha="$(sha256sum "$provider_dir/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$provider_dir/node_modules/.portal-lock-sha256" 2>/dev/null)" != "$lock_sha" ]; then
    echo "==> Cài nhà cung cấp OpenID cho kiểm thử / installing the test OpenID provider (npm ci)"
    (cd "$provider_dir" && npm ci --no-audit --no-fund >/dev/null)
    echo "$lock_sha" > "$provider_dir/node_modules/.portal-lock-sha256"
fi

# The shape of the code (docs/architecture.md): no import circles, areas in layers, views only on top.
echo "==> Kiểm tra cấu trúc mã / import contracts (import-linter)"
lint-imports --no-cache

echo "==> Kiểm thử trên SQLite / tests on SQLite"
PORTAL_TEST_DB=sqlite python -m pytest "$@"
echo "==> Kiểm thử trên PostgreSQL / tests on PostgreSQL"
PORTAL_TEST_DB=postgresql python -m pytest "$@"
