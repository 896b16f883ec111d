#!/usr/bin/env bash
# Measures, on ONE core, requests per second, p50/p90/p99 latency and resident memory of:
#   1. client_credentials issuance, every token durably recorded (SQLite WAL, synchronous=FULL,
#      or PostgreSQL), ES256 unless ALG says otherwise;
#   2. POST /api-keys/verify for one key (gateway client authentication, key lookup, scope and
#      IP checks, the rate limiter, usage counting), with the limiter in process, or in Redis
#      when PORTCULLIS_REDIS_URL is set;
#   3. the end-user paths after sign-in: authorization requests with a remembered consent (each
#      answer a new code), code exchanges with PKCE (access, refresh and ID token, the code
#      spent, all durable), and refresh-token rotations (each token spent once);
#   4. argon2id password verifications per second on one core, which bounds the login rate
#      (cargo run --release --example password_rate).
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
# Codes are made in one phase and spent in the next, so they must outlive the first.
export PORTCULLIS_AUTHORIZATION_CODE_LIFETIME=600

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

echo "==> end-user paths: sign in once, then authorize, exchange and refresh ($duration s each)"
app_redirect="http://127.0.0.1:9/cb"
web=$("$bin" client create --name "bench web" --type confidential \
    --grant-types authorization_code,refresh_token --scopes "openid quote:read" \
    --redirect-uris "$app_redirect" --token-auth-method client_secret_basic \
    --id-token-signing-alg "$alg" --access-token-lifetime 600 --refresh-token-lifetime 3600 --json)
web_id=$(jq -r .client_id <<<"$web")
printf 'correct horse battery staple\n' | "$bin" user create --username bench --password-stdin >/dev/null
export PC_BASIC=$(printf '%s:%s' "$web_id" "$(jq -r .client_secret <<<"$web")" | base64 -w0)
export PC_REDIRECT="$app_redirect"
export PC_VERIFIER=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
challenge=$(printf '%s' "$PC_VERIFIER" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
authorize_path="/oauth2/authorize?response_type=code&client_id=$web_id&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20quote%3Aread&state=bench&code_challenge=$challenge&code_challenge_method=S256"
sleep 1

# The one sign-in and consent, with curl as the browser.
jar="$work/cookies"
follow() { curl -s -o "$work/page" -w '%{http_code} %{redirect_url}' -b "$jar" -c "$jar" "$@"; }
field() { grep -o "name=\"$1\" value=\"[^\"]*\"" "$work/page" | head -n1 | cut -d'"' -f4; }
follow "$PORTCULLIS_ISSUER$authorize_path" >/dev/null
follow "$PORTCULLIS_ISSUER/login" >/dev/null
next=$(follow --data-urlencode "csrf=$(field csrf)" -d username=bench \
    --data-urlencode "password=correct horse battery staple" "$PORTCULLIS_ISSUER/login" | cut -d' ' -f2)
while [[ "$next" != "$app_redirect"* ]]; do
    answer=$(follow "$next")
    if [[ "$answer" == 200* ]]; then
        answer=$(follow --data-urlencode "csrf=$(field csrf)" \
            --data-urlencode "request=$(field request)" -d decision=allow "$PORTCULLIS_ISSUER/consent")
    fi
    next=$(cut -d' ' -f2 <<<"$answer")
    [ -n "$next" ] || { echo "sign-in flow stopped: $answer" >&2; exit 1; }
done
export PC_COOKIE=$(grep portcullis_session "$jar" | awk '{print $6 "=" $7}')

export PC_CODES="$work/codes"
: > "$PC_CODES"
echo "-- authorization requests (remembered consent, one code each)"
taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -s bench/authorize.lua \
    "$PORTCULLIS_ISSUER$authorize_path" | grep '^BENCH'
echo "codes made: $(wc -l < "$PC_CODES")"

echo "-- code exchanges (PKCE, access + refresh + ID token, durable)"
export PC_MODE=code PC_INPUT="$PC_CODES" PC_OUTPUT="$work/refresh"
: > "$PC_OUTPUT"
taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -s bench/exchange.lua \
    "$PORTCULLIS_ISSUER/oauth2/token" | grep '^BENCH'
echo "refresh tokens received: $(wc -l < "$PC_OUTPUT")"

echo "-- refresh rotations (each refresh token once)"
export PC_MODE=refresh PC_INPUT="$work/refresh" PC_OUTPUT="$work/refresh2"
: > "$PC_OUTPUT"
taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -s bench/exchange.lua \
    "$PORTCULLIS_ISSUER/oauth2/token" | grep '^BENCH'
echo "successors received: $(wc -l < "$PC_OUTPUT")"
echo "RSS peak after every run $(awk '/VmHWM/ {print $2}' /proc/$server/status) KiB"

echo "==> argon2id verifications on one core (the ceiling of the login rate)"
RUSTFLAGS="" taskset -c 0 cargo run --quiet --release -p portcullis-core --example password_rate
