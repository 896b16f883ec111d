#!/usr/bin/env bash
# The soak: two release instances on one PostgreSQL database sharing Redis, token requests at
# 80% of the capacity measured first, for SOAK_SECONDS (default 600). Reports the achieved rate,
# latency, 5xx answers counted by the servers' own metrics (must be zero), token records against
# answers, and each instance's resident memory sampled every 30 s (it should stay flat).
# Not part of CI; no figure is asserted.
#
#   bench/soak.sh
#   SOAK_SECONDS=120 bench/soak.sh
#   PORTCULLIS_SOAK_DATABASE=postgres://postgres@127.0.0.1/pc_soak bench/soak.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$PROJECT_ROOT"

seconds="${SOAK_SECONDS:-600}"
share="${SOAK_SHARE:-0.8}"
connections=64
# Two wrk threads per instance: a paced wrk thread (one timer per request) tops out near 8,000
# requests per second here, below 80% of what one instance serves.
wrk_threads="${SOAK_WRK_THREADS:-2}"
database="${PORTCULLIS_SOAK_DATABASE:-postgres://postgres@127.0.0.1:5432/pc_soak}"
redis="${PORTCULLIS_SOAK_REDIS:-redis://127.0.0.1:6379}"
command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

echo "==> release build of the server"
RUSTFLAGS="" cargo build --release -p portcullis --bin portcullis --features ssr 2>&1 | tail -n 1
bin="$CARGO_TARGET_DIR/release/portcullis"

psql "${database%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${database##*/}" \
    -c "CREATE DATABASE ${database##*/}" >/dev/null
work="$(mktemp -d)"
base=$(( 20000 + RANDOM % 20000 ))
export PORTCULLIS_DATABASE_URL="$database"
export PORTCULLIS_DATA_DIR="$work/data"
export PORTCULLIS_MASTER_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
export PORTCULLIS_ISSUER="http://127.0.0.1:$base"
export PORTCULLIS_ACCESS_TOKEN_AUDIENCE="https://api.example.test"
export PORTCULLIS_REDIS_URL="$redis"
export PORTCULLIS_REDIS_PREFIX="pc_soak_$RANDOM"
export RUST_LOG=warn

pids=()
for i in 0 1; do
    PORTCULLIS_LISTEN="127.0.0.1:$(( base + i ))" PORTCULLIS_METRICS_LISTEN="127.0.0.1:$(( base + 10 + i ))" \
        TOKIO_WORKER_THREADS=1 "$bin" serve > "$work/server-$i.log" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
for i in 0 1; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$(( base + i ))/readyz" >/dev/null && break; sleep 0.1; done
done

"$bin" scope create --name quote:read --description "Read quotes" >/dev/null
client=$("$bin" client create --name soak --type confidential --grant-types client_credentials \
    --scopes quote:read --token-auth-method client_secret_basic \
    --access-token-lifetime 600 --refresh-token-lifetime 3600 --json)
export PC_BASIC=$(printf '%s:%s' "$(jq -r .client_id <<<"$client")" "$(jq -r .client_secret <<<"$client")" | base64 -w0)
sleep 1

load() { # instance duration delay_ms
    PC_DELAY_MS="$3" wrk -t"$wrk_threads" -c"$connections" -d"${2}s" -s bench/soak.lua \
        "http://127.0.0.1:$(( base + $1 ))/oauth2/token" | grep '^BENCH'
}
rps_of() { sed -E 's/.* rps=([0-9]+).*/\1/' <<<"$1"; }

echo "==> capacity: both instances at full load for 20 s"
load 0 20 0 > "$work/cap-0" & first=$!
load 1 20 0 > "$work/cap-1" & second=$!
wait "$first" "$second"
capacity=$(( $(rps_of "$(cat "$work/cap-0")") + $(rps_of "$(cat "$work/cap-1")") ))
target=$(python3 -c "print(int($capacity * $share))")
# The offered rate is connections / (latency + pause) per instance, and latency depends on the
# load of both instances (they share the cores): settle the pause with both loaded, each round
# correcting for the latency the last one saw, until the pair runs within 2% of the target.
per_instance=$(( target / 2 ))
delay=$(python3 -c "print(max(0.05, round($connections * 1000 / $per_instance / 2, 2)))")
for round in 1 2 3 4 5 6; do
    load 0 10 "$delay" > "$work/cal-0" & first=$!
    load 1 10 "$delay" > "$work/cal-1" & second=$!
    wait "$first" "$second"
    seen=$(( $(rps_of "$(cat "$work/cal-0")") + $(rps_of "$(cat "$work/cal-1")") ))
    echo "calibration $round: ${seen}/s on both instances with a ${delay} ms pause"
    python3 -c "import sys; sys.exit(0 if abs($seen - $target) <= 0.02 * $target else 1)" && break
    delay=$(python3 -c "
cycle_ms = $connections * 1000 / ($seen / 2)
latency_ms = max(0.0, cycle_ms - $delay)
print(max(0.05, round($connections * 1000 / $per_instance - latency_ms, 2)))")
done
echo "capacity ${capacity}/s; soak target ${target}/s (${share}), ${connections} connections per instance pausing ${delay} ms"

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo "==> soak: ${seconds} s"
load 0 "$seconds" "$delay" > "$work/soak-0" & first=$!
load 1 "$seconds" "$delay" > "$work/soak-1" & second=$!
echo "t_s rss0_kib rss1_kib" > "$work/rss"
for (( t = 0; t <= seconds; t += 30 )); do
    echo "$t $(rss "${pids[0]}") $(rss "${pids[1]}")" >> "$work/rss"
    sleep 30
done
wait "$first" "$second"

echo "==> results"
cat "$work/soak-0" "$work/soak-1"
achieved=$(( $(rps_of "$(cat "$work/soak-0")") + $(rps_of "$(cat "$work/soak-1")") ))
echo "achieved ${achieved}/s: $(python3 -c "print(round(100 * $achieved / $capacity))")% of the measured ${capacity}/s"
fivexx=0
answered=0
for i in 0 1; do
    metrics=$(curl -sf "http://127.0.0.1:$(( base + 10 + i ))/metrics")
    n=$(awk '/^portcullis_http_requests_total\{route="\/oauth2\/token",status="5/ {s += $2} END {print s + 0}' <<<"$metrics")
    ok=$(awk '/^portcullis_http_requests_total\{route="\/oauth2\/token",status="200"/ {s += $2} END {print s + 0}' <<<"$metrics")
    fivexx=$(( fivexx + n ))
    answered=$(( answered + ok ))
done
recorded=$(psql "$database" -Atc "SELECT count(*) FROM tokens")
echo "5xx answers (servers' metrics): $fivexx; 200 answers: $answered; token records: $recorded"
echo "resident memory (KiB) every 30 s:"
cat "$work/rss"
