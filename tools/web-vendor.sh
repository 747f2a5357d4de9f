#!/usr/bin/env bash
# Installs the browser libraries pinned in web/package-lock.json with `npm ci` and copies the files
# the console and player pages load into OUTDIR (served at /vendor/). Run by the build (web/meson.build);
# the server never fetches anything at run time.
# Usage: tools/web-vendor.sh WEB_SOURCE_DIR OUTDIR NPM_WORK_DIR
set -euo pipefail
src="$1"
out="$2"
work="$3"
mkdir -p "$out" "$work"
cp "$src/package.json" "$src/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
m="$work/node_modules"
cp "$m/hls.js/dist/hls.min.js" "$out/hls.min.js"
cp "$m/mpegts.js/dist/mpegts.js" "$out/mpegts.js"
cp "$m/dashjs/dist/dash.all.min.js" "$out/dash.all.min.js"
cp "$m/uplot/dist/uPlot.iife.min.js" "$out/uPlot.iife.min.js"
cp "$m/uplot/dist/uPlot.min.css" "$out/uPlot.min.css"
for p in hls.js mpegts.js uplot; do cp "$m/$p/LICENSE" "$out/LICENSE-$p.txt"; done
cp "$m/dashjs/LICENSE.md" "$out/LICENSE-dashjs.txt"
