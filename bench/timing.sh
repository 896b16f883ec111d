#!/usr/bin/env bash
# Timing-oracle measurement (SECURITY.md J-08 and E-14) against the release server on one core:
# near-miss vs random wrong API keys at /api-keys/verify, and near-miss vs random wrong client
# secrets at /oauth2/token. The failure throttles are raised for the run, or they would answer
# 429 before any secret is compared. Prints one TIMING line per check; asserts nothing.
#
#   bench/timing.sh            5,000 requests of each kind
#   N=20000 bench/timing.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$PROJECT_ROOT"
n="${N:-5000}"

RUSTFLAGS="" cargo build --release -p portcullis --bin portcullis --features ssr 2>&1 | tail -n 1
bin="$CARGO_TARGET_DIR/release/portcullis"
work="$(mktemp -d)"
port=$(( 20000 + RANDOM % 20000 ))
export PORTCULLIS_DATA_DIR="$work/data"
export PORTCULLIS_ISSUER="http://127.0.0.1:$port"
export PORTCULLIS_ACCESS_TOKEN_AUDIENCE="https://api.example.test"
export PORTCULLIS_LISTEN="127.0.0.1:$port"
export PORTCULLIS_CLIENT_AUTH_FAILURE_LIMIT=100000000
export PORTCULLIS_API_KEY_GUESS_LIMIT=100000000
export RUST_LOG=warn

TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$PORTCULLIS_ISSUER/readyz" >/dev/null && break; sleep 0.1; done

"$bin" scope create --name quote:read --description "Read quotes" >/dev/null
create_client() {
    "$bin" client create --name "$1" --type confidential --grant-types client_credentials \
        --scopes quote:read --token-auth-method client_secret_basic \
        --access-token-lifetime 600 --refresh-token-lifetime 3600 --json
}
client=$(create_client timing)
gateway=$(create_client gateway)
"$bin" client grant "$(jq -r .client_id <<<"$gateway")" verify-api-keys >/dev/null
key=$("$bin" api-key create --client-id "$(jq -r .client_id <<<"$client")" --name timing \
    --scopes quote:read --rate-limit-per-minute 600 --json | jq -r .api_key)
sleep 1

taskset -c 1 python3 bench/timing.py verify "$PORTCULLIS_ISSUER" \
    "$(jq -r .client_id <<<"$gateway")" "$(jq -r .client_secret <<<"$gateway")" "$key" "$n"
taskset -c 1 python3 bench/timing.py client "$PORTCULLIS_ISSUER" \
    "$(jq -r .client_id <<<"$client")" "$(jq -r .client_secret <<<"$client")" "$n"
