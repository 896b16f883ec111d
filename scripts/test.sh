#!/usr/bin/env bash
# Runs every test Portcullis has:
#   1. unit tests, the in-process HTTP suite and the storage conformance suite on SQLite;
#   2. the HTTP and storage suites again on PostgreSQL (PORTCULLIS_TEST_POSTGRES_URL, default the
#      local server);
#   3. the browser tests (end2end/, headless Chromium) and the README walk-through with curl.
# Installs what is missing first (scripts/setup.sh) and builds (scripts/build.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PROJECT_ROOT"

scripts/setup.sh
scripts/build.sh

pg_admin="${PORTCULLIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export PORTCULLIS_TEST_POSTGRES_URL="$pg_admin"
# Databases left by earlier, interrupted runs.
psql "$pg_admin" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'pc_test_%'" 2>/dev/null |
    while read -r db; do psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; done || true

echo "==> Rust tests on SQLite"
cargo test --workspace --features ssr

echo "==> HTTP and storage suites on PostgreSQL"
PORTCULLIS_TEST_BACKEND=postgres cargo test --features ssr --test it
PORTCULLIS_TEST_BACKEND=postgres cargo test -p portcullis-store --tests

echo "==> README walk-through with curl"
scripts/smoke.sh

echo "==> browser tests"
node --test --test-concurrency=1 --test-force-exit end2end/
