#!/usr/bin/env bash
# Checks that the C++ sources follow .clang-format (C elements in gst-plugins/ follow GStreamer's
# own style and are not checked here). Prints the offending files; exit 1 if any.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "format: $f is not clang-formatted (run: clang-format -i $f)"
    bad=1
  fi
done < <(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'tools/*.cpp' 'tools/*.h')
[ $bad -eq 0 ] && echo "format: ok"
exit $bad
