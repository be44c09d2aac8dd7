#!/usr/bin/env bash
# One command for the whole suite: installs what it needs, runs every test on SQLite, then on
# the PostgreSQL at 127.0.0.1:5432 (database "test"); fails if PostgreSQL is unreachable.
#   bash scripts/run-tests.sh [pytest args…]
set -euo pipefail
source "$(dirname "$0")/setup.sh"

echo "==> Kiểm thử trên SQLite / tests on SQLite"
PORTAL_TEST_DB=sqlite python -m pytest "$@"
echo "==> Kiểm thử trên PostgreSQL / tests on PostgreSQL"
PORTAL_TEST_DB=postgresql python -m pytest "$@"
