#!/usr/bin/env bash
# Runs the whole test suite: installs dependencies if missing, builds, checks formatting and the
# layer rules (tools/check-layers.py), runs every meson test (unit, element, end-to-end), then the
# unit and element suites again under ASan+UBSan (tools/test-sanitized.sh, ./build-asan), and prints
# "N passed, N failed" (test cases of both runs). Arguments go to the normal `meson test` and skip the
# sanitizer run unless ESTUARY_SANITIZE=1; ESTUARY_SANITIZE=0 always skips it.
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
sanitized=()
if [ "${ESTUARY_SANITIZE:-$([ $# -eq 0 ] && echo 1 || echo 0)}" = 1 ]; then
  "$root/tools/test-sanitized.sh" || rc=1
  sanitized=(build-asan)
fi
python3 "$root/tools/test_summary.py" build "$format_ok" "${sanitized[@]}"
summary_rc=$?
[ $rc -eq 0 ] && [ $summary_rc -eq 0 ] && [ $format_ok -eq 1 ]
