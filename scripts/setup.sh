#!/usr/bin/env bash
# Installs whatever this machine lacks to build and test Portcullis. Each step runs only when
# its tool is missing (or, for wasm-bindgen, at the wrong version), so a second run is quick.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PROJECT_ROOT"

step() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes)"
    # Not --locked: the CLI's own lockfile pins a webpki-roots release the registry lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -d node_modules/playwright-core ]; then
    step "installing npm packages (tailwind, wasm-opt, playwright-core)"
    npm ci --no-audit --no-fund
fi

if [ "${PORTCULLIS_SKIP_BROWSER:-}" != 1 ] && ! command -v chromium >/dev/null; then
    step "installing Debian chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# curl and jq for the README walk-through; sqlite3 for the crash tests, which read the database
# file after each kill.
if ! command -v curl >/dev/null || ! command -v jq >/dev/null || ! command -v sqlite3 >/dev/null
then
    step "installing curl, jq and sqlite3"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq sqlite3 >/dev/null
fi
