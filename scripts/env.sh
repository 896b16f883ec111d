# Shared build environment, sourced by every script: the same variables cargo-leptos would give
# cargo, so builds, tests and clippy share one build cache instead of rebuilding each other.
# shellcheck shell=bash

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PROJECT_ROOT

# The build folder lives outside the clone so a fresh clone (CI) reuses earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/portcullis/target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export PATH="$HOME/.cargo/bin:$PROJECT_ROOT/node_modules/.bin:$PATH"

export LEPTOS_OUTPUT_NAME=portcullis
export LEPTOS_SITE_ROOT="$PROJECT_ROOT/target/site"
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export LEPTOS_RELOAD_PORT=3001
export LEPTOS_LIB_DIR=.
export LEPTOS_BIN_DIR=.
export LEPTOS_HASH_FILES=false
# Debug builds erase component types (much faster to compile); scripts/build.sh --release clears
# this. Every cargo command must see the same flags, or it rebuilds all dependencies.
export RUSTFLAGS="--cfg erase_components"

# The wasm-bindgen CLI must equal the crate version in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(grep -A1 '^name = "wasm-bindgen"$' "$PROJECT_ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
export WASM_BINDGEN_VERSION
