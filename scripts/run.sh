#!/usr/bin/env bash
# Installs what is missing, builds, and starts Portcullis on the embedded SQLite default
# (data/ in the project). The issuer and token audience are set here explicitly for a local
# run; a deployment sets its own (see docs/configuration.md).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PROJECT_ROOT"

PORTCULLIS_SKIP_BROWSER=1 scripts/setup.sh
scripts/build.sh

export PORTCULLIS_ISSUER="${PORTCULLIS_ISSUER:-http://127.0.0.1:3000}"
export PORTCULLIS_ACCESS_TOKEN_AUDIENCE="${PORTCULLIS_ACCESS_TOKEN_AUDIENCE:-http://127.0.0.1:3000/api}"
export PORTCULLIS_SITE_ROOT="$PROJECT_ROOT/target/site"
echo "==> starting Portcullis at $PORTCULLIS_ISSUER (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/debug/portcullis" serve
