#!/usr/bin/env bash
# One command for the whole suite: installs what it needs, runs every test on SQLite, then on
# the PostgreSQL at 127.0.0.1:5432 (database "test"); fails if PostgreSQL is unreachable.
#   bash scripts/run-tests.sh [pytest args…]
set -euo pipefail
source "$(dirname "$0")/setup.sh"

# found NAME-OR-GLOB…: true when one is a command on PATH or an existing file.
found() {
    local item
    for item in "$@"; do
        command -v "$item" >/dev/null 2>&1 && return 0
        compgen -G "$item" >/dev/null && return 0
    done
    return 1
}

# require PACKAGE WHY_VI WHY_EN NAME-OR-GLOB…: install Debian's PACKAGE (as root) unless found.
require() {
    local package="$1" why_vi="$2" why_en="$3"
    shift 3
    found "$@" && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> Cài $package $why_vi / installing $package $why_en"
        apt-get update -qq && apt-get install -y -qq "$package"
    else
        echo "Cần $package $why_vi / $package is needed $why_en:" >&2
        echo "  sudo apt-get install $package   (then run this script again)" >&2
        exit 1
    fi
}

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
require chromium "cho kiểm thử trình duyệt" "for the browser tests" chromium
# The production layout's test runs nginx, unprivileged, in front of the app (tests/operations/test_nginx.py).
require nginx "cho kiểm thử bố cục triển khai" "for the deployment test" nginx /usr/sbin/nginx
# `flask backup` dumps and restores PostgreSQL with pg_dump / pg_restore (tests/operations/test_backup.py);
# Debian's postgresql-client must be of the server's major version or newer.
require postgresql-client "cho kiểm thử sao lưu" "for the backup test" pg_dump '/usr/lib/postgresql/*/bin/pg_dump'
# Fault tests restart a PostgreSQL server of their own (tests/pg_cluster.py: initdb, pg_ctl) and
# run Redis servers of their own (tests/api_keys/test_quota_redis.py, tests/operations/test_redis_outage.py).
require postgresql "cho kiểm thử khởi động lại cơ sở dữ liệu" "for the database-restart tests" \
    pg_ctl '/usr/lib/postgresql/*/bin/pg_ctl'
require redis-server "cho kiểm thử Redis" "for the Redis tests" redis-server

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
