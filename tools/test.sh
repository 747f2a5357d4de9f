#!/usr/bin/env bash
# Runs the whole test suite: installs dependencies if missing, builds, checks formatting and the
# layer rules (tools/check-layers.py), runs every meson test (unit, element, end-to-end), and prints
# "N passed, N failed" (test cases).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/tools/install-deps.sh" || exit 1
"$root/tools/build.sh" || exit 1
format_ok=1
"$root/tools/check-format.sh" || format_ok=0
python3 "$root/tools/check-layers.py" "$root" || format_ok=0  # counted like a formatting failure
# Results of earlier runs must not be counted: meson rewrites the log, GoogleTest its XML files.
rm -f build/meson-logs/testlog.json build/*.xml
meson test -C build --print-errorlogs --num-processes 2 "$@"
rc=$?
python3 "$root/tools/test_summary.py" build "$format_ok"
summary_rc=$?
[ $rc -eq 0 ] && [ $summary_rc -eq 0 ] && [ $format_ok -eq 1 ]
