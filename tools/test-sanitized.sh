#!/usr/bin/env bash
# Builds Estuary with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, ./build-asan) and runs the
# unit and element suites there (the fuzz corpus replays are part of `unit`). Any ASan error, leak
# (LeakSanitizer, with the narrow suppressions in tools/lsan.supp) or UB report fails its test.
# tools/test.sh runs this after the normal suite and counts its results in the final line.
#   tools/test-sanitized.sh [meson test args...]   (default: --suite unit --suite elements)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build=build-asan
# Results of earlier runs must not be counted (see tools/test_summary.py).
rm -f "$build/meson-logs/testlog.json"
[ -d "$build" ] && find "$build" -maxdepth 1 -name '*.xml' -delete
# -O1 -g1 (line tables): ASan's recommended optimisation with file:line in every report, and a build
# about 3x faster than -O2 -g (measured per file: supervisor.cpp 55 s -> 20 s), which is most of CI's
# cold-machine time. An older ./build-asan configured otherwise is switched over.
sanitize_options=(-Db_sanitize=address,undefined -Doptimization=1 -Dc_args=-g1 -Dcpp_args=-g1)
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=debugoptimized "${sanitize_options[@]}" || exit 1
elif ! meson introspect "$build" --buildoptions | python3 -c '
import json, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
sys.exit(0 if opts.get("optimization") == "1" and opts.get("cpp_args") == ["-g1"] else 1)'; then
  meson configure "$build" "${sanitize_options[@]}" || exit 1
fi
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--suite unit --suite elements)
# Build only the executables those suites run (not the server binary or the e2e tests).
mapfile -t targets < <(meson test -C "$build" --no-rebuild --list "${args[@]}" 2>/dev/null | sed 's/^.* \/ //' |
  python3 -c '
import json, os, subprocess, sys
names = set(l.strip() for l in sys.stdin if l.strip())
build = sys.argv[1]
tests = json.loads(subprocess.check_output(["meson", "introspect", "--tests", build]))
files_of = {t["id"]: t["filename"] for t in json.loads(subprocess.check_output(["meson", "introspect", "--targets", build]))}
root = os.path.abspath(build) + "/"
for t in tests:
    if t["name"] not in names:
        continue
    # The executable and what the test depends on (e.g. the npm files a static-site test reads).
    for path in [t["cmd"][0]] + [f for d in t.get("depends", []) for f in files_of.get(d, [])]:
        if path.startswith(root):
            print(os.path.relpath(path, root))
' "$build" | sort -u)
if [ ${#targets[@]} -gt 0 ]; then
  ninja -C "$build" "${targets[@]}" || exit 1
fi
# halt_on_error: the first report ends the test (and fails it); detect_leaks: LeakSanitizer at exit;
# fast_unwind_on_malloc=0: allocation stacks go through GLib/GStreamer (built without frame pointers),
# which the suppressions in tools/lsan.supp need to recognise a one-time allocation.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$root/tools/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
# Slower under ASan: more time than the normal build's test timeouts.
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 "${args[@]}"
