#!/usr/bin/env bash
# Builds Portcullis the way `cargo leptos build` does, without cargo-leptos (too slow to install
# here): the hydration bundle, the stylesheet, the static files, then the server binary.
#
#   scripts/build.sh            debug build (what the tests use)
#   scripts/build.sh --release  optimised build (what the benchmarks use)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PROJECT_ROOT"

release=false
[ "${1:-}" = "--release" ] && release=true

pkg="$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"
mkdir -p "$pkg"

if $release; then
    wasm_profile=wasm-release
    export LEPTOS_JS_MINIFY=true
    export RUSTFLAGS=""
else
    wasm_profile=debug
    export LEPTOS_JS_MINIFY=false
fi

echo "==> hydration bundle (wasm32, profile $wasm_profile)"
profile_flag=()
$release && profile_flag=(--profile wasm-release)
cargo build -p portcullis-app --lib --target wasm32-unknown-unknown \
    --no-default-features --features hydrate "${profile_flag[@]}"
wasm-bindgen --target web --out-dir "$pkg" --out-name portcullis --no-typescript \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile/portcullis_app.wasm"
# With LEPTOS_OUTPUT_NAME set at compile time the hydration script loads <name>.wasm.
mv "$pkg/portcullis_bg.wasm" "$pkg/portcullis.wasm"
if $release; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
        -o "$pkg/portcullis.wasm" "$pkg/portcullis.wasm"
fi

echo "==> stylesheet"
minify=()
$release && minify=(--minify)
tailwindcss --input style/main.css --output "$pkg/portcullis.css" "${minify[@]}" 2>&1 | grep -v '^≈' || true

echo "==> static files"
cp -R public/. "$LEPTOS_SITE_ROOT/"

echo "==> server"
release_flag=()
$release && release_flag=(--release)
cargo build -p portcullis --bin portcullis --features ssr "${release_flag[@]}"
