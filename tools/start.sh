#!/usr/bin/env bash
# Fresh machine to running server: installs dependencies, builds, and starts Estuary on its
# built-in defaults (RTMP 1935, HTTP 8080, API 1985). Extra arguments go to the server.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/tools/install-deps.sh"
"$root/tools/build.sh" src/server/estuary  # the server only, not every test binary
exec "$root/build/src/server/estuary" "$@"
