#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang + ASan + UBSan, in build-fuzz/) and runs them.
#   tools/fuzz.sh                 every target for 60 s each, one after the other
#   tools/fuzz.sh rtmp_chunk 600  one target for 600 s
#   tools/fuzz.sh list            the target names
# Each run starts from the committed corpus tests/fuzz/corpus/<target>/ and grows a working corpus
# in build-fuzz/corpus/<target>/ (not committed); a crash leaves its input in
# build-fuzz/artifacts/<target>/ and makes this script exit 1. Extra libFuzzer flags: FUZZ_FLAGS.
# To keep a finding fixed, copy its input to tests/fuzz/corpus/<target>/regress-<what> (the normal
# build's fuzz_corpus_<target> test replays it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build=build-fuzz
# Every target of tests/fuzz/meson.build (one <name>_fuzz.cpp each).
mapfile -t targets < <(ls tests/fuzz/*_fuzz.cpp | sed 's|.*/||; s|_fuzz\.cpp$||')
if [ "${1:-}" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [ $# -ge 1 ] && [ "$1" != all ]; then targets=("$1"); fi
seconds="${2:-60}"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" --buildtype=debugoptimized -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}")
# UB is an error, not a warning; leaks are reported (LeakSanitizer runs inside libFuzzer).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/tools/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export GST_REGISTRY="$root/$build/fuzz-registry.bin"
failed=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "== $t: ${seconds}s"
  # Targets that start GStreamer need the slow unwinder, so the suppression in tools/lsan.supp can see
  # past GLib (built without frame pointers) to where a one-time allocation was made.
  unwind=""
  [ "$t" = pipelines ] && unwind=":fast_unwind_on_malloc=0"
  # shellcheck disable=SC2086
  if ! ASAN_OPTIONS="$ASAN_OPTIONS$unwind" "$build/tests/fuzz/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_FLAGS:-} 2>&1 | tee "$build/fuzz-$t.log" |
      grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|.*runtime error)'; then
    :
  fi
  # A slow unit (over libFuzzer's 10 s wall-clock report threshold) is not a finding by itself: on a
  # busy machine a starved fuzzer writes them for inputs that run in milliseconds. Timeouts are.
  if grep -qE '==[0-9]+==ERROR|runtime error|deadly signal|Test unit written to .*/(crash|leak|timeout|oom)-' \
      "$build/fuzz-$t.log"; then
    echo "!! $t: finding, see $build/fuzz-$t.log and $artifacts/"
    failed=1
  fi
done
exit $failed
