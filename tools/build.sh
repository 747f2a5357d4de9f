#!/usr/bin/env bash
# Configures (once) and builds Estuary into ./build: everything, or only the ninja targets given
# (tools/start.sh builds just src/server/estuary).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized
ninja -C build "$@"
