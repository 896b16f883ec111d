#!/usr/bin/env bash
# Measures, on ONE core, requests per second, p50/p90/p99 latency and resident memory of:
#   1. client_credentials issuance, every token durably recorded (SQLite WAL, synchronous=FULL,
#      or PostgreSQL), ES256 unless ALG says otherwise;
#   2. POST /api-keys/verify for one key (gateway client authentication, key lookup, scope and
#      IP checks, the rate limiter, usage counting), with the limiter in process, or in Redis
#      when PORTCULLIS_REDIS_URL is set.
# The server is pinned to core 0 with one Tokio worker; wrk runs on core 1.
#
#   bench/run.sh                       SQLite, 20 s, 64 connections
#   DURATION=30 CONNECTIONS=128 bench/run.sh
#   PORTCULLIS_DATABASE_URL=postgres://postgres@127.0.0.1/pc_bench bench/run.sh
#   ALG=RS256 bench/run.sh             another signing algorithm
#   PORTCULLIS_REDIS_URL=redis://127.0.0.1:6379 bench/run.sh   the shared limiter
#
# Prints one BENCH line per run and a closing summary; no timing is asserted anywhere.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$PROJECT_ROOT"

duration="${DURATION:-20}"
connections="${CONNECTIONS:-64}"
alg="${ALG:-ES256}"

command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v jq >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }

echo "==> release build of the server"
RUSTFLAGS="" cargo build --release -p portcullis --bin portcullis --features ssr 2>&1 | tail -n 1
bin="$CARGO_TARGET_DIR/release/portcullis"

work="$(mktemp -d)"
port=$(( 20000 + RANDOM % 20000 ))
export PORTCULLIS_DATA_DIR="$work/data"
export PORTCULLIS_ISSUER="http://127.0.0.1:$port"
export PORTCULLIS_ACCESS_TOKEN_AUDIENCE="https://api.example.test"
export PORTCULLIS_LISTEN="127.0.0.1:$port"
export PORTCULLIS_SIGNING_ALG="$alg"
export RUST_LOG=warn

if [[ "${PORTCULLIS_DATABASE_URL:-}" == postgres* ]]; then
    db="${PORTCULLIS_DATABASE_URL##*/}"
    admin="${PORTCULLIS_DATABASE_URL%/*}/postgres"
    psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
fi

TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$PORTCULLIS_ISSUER/readyz" >/dev/null && break; sleep 0.1; done

"$bin" scope create --name quote:read --description "Read quotes" >/dev/null
client=$("$bin" client create --name bench --type confidential --grant-types client_credentials \
    --scopes quote:read --token-auth-method client_secret_basic \
    --access-token-lifetime 600 --refresh-token-lifetime 3600 --json)
export PC_BASIC=$(printf '%s:%s' "$(jq -r .client_id <<<"$client")" "$(jq -r .client_secret <<<"$client")" | base64 -w0)
sleep 1

rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
echo "==> warm-up (3 s)"
taskset -c 1 wrk -t1 -c"$connections" -d3s -s bench/token.lua "$PORTCULLIS_ISSUER/oauth2/token" >/dev/null

echo "==> $duration s, $connections connections, $alg, $(basename "${PORTCULLIS_DATABASE_URL:-sqlite}")"
result=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -s bench/token.lua "$PORTCULLIS_ISSUER/oauth2/token" | grep '^BENCH')
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$server/status)
echo "$result"

# Every successful response must have a durable record: count them.
if [[ "${PORTCULLIS_DATABASE_URL:-}" == postgres* ]]; then
    recorded=$(psql "$PORTCULLIS_DATABASE_URL" -Atc "SELECT count(*) FROM tokens")
else
    recorded=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from tokens').fetchone()[0])" "$PORTCULLIS_DATA_DIR/portcullis.db")
fi
echo "RSS idle ${rss_idle} KiB, peak ${rss_peak} KiB; token records in the database: $recorded"

limiter="in process"
[ -n "${PORTCULLIS_REDIS_URL:-}" ] && limiter="Redis at $PORTCULLIS_REDIS_URL"
echo "==> API-key verification: $duration s, $connections connections, limiter $limiter"
gateway=$("$bin" client create --name gateway --type confidential --grant-types client_credentials \
    --scopes quote:read --token-auth-method client_secret_basic \
    --access-token-lifetime 600 --refresh-token-lifetime 3600 --json)
gateway_id=$(jq -r .client_id <<<"$gateway")
"$bin" client grant "$gateway_id" verify-api-keys >/dev/null
export PC_BASIC=$(printf '%s:%s' "$gateway_id" "$(jq -r .client_secret <<<"$gateway")" | base64 -w0)
# A limit far above what one core serves, so every answer takes the full "valid" path.
export PC_KEY=$("$bin" api-key create --client-id "$(jq -r .client_id <<<"$client")" --name bench \
    --scopes quote:read --rate-limit-per-minute 10000000 --burst 100000 --json | jq -r .api_key)
sleep 1
taskset -c 1 wrk -t1 -c"$connections" -d3s -s bench/verify.lua "$PORTCULLIS_ISSUER/api-keys/verify" >/dev/null
result=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -s bench/verify.lua "$PORTCULLIS_ISSUER/api-keys/verify" | grep '^BENCH')
echo "$result"
answer=$(curl -s -u "$(base64 -d <<<"$PC_BASIC")" -H 'Content-Type: application/json' \
    -d "{\"key\":\"$PC_KEY\",\"scope\":\"quote:read\"}" "$PORTCULLIS_ISSUER/api-keys/verify")
echo "sample answer: $answer"
echo "RSS peak after both runs $(awk '/VmHWM/ {print $2}' /proc/$server/status) KiB"
