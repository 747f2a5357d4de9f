#!/usr/bin/env python3
"""Prints the closing line "N passed, N failed" for the test cases of the last `meson test` run.

Usage: test_summary.py BUILD [FORMAT_OK] [EXTRA_BUILD...]. Each EXTRA_BUILD (the ASan+UBSan build of
tools/test-sanitized.sh) is counted the same way; one whose tests did not run at all (no
meson-logs/testlog.json: it failed to configure or build) counts as one failure.

Counts GoogleTest cases from the JUnit XML files meson has GoogleTest write (protocol 'gtest');
a test executable that crashed or timed out before writing its XML counts as one failure. Skipped
cases are reported separately and never counted as passed. A formatting failure counts as one failed
check. Exit status 1 when anything failed or nothing ran.
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def count(build: str):
    """(passed, failed, skipped) of the last meson test run in build; None when it has no log."""
    log = os.path.join(build, "meson-logs", "testlog.json")
    passed = failed = skipped = 0
    runs = []
    if not os.path.exists(log):
        return None
    with open(log) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    xml_by_name = {}
    for path in glob.glob(os.path.join(build, "**", "*.xml"), recursive=True):
        xml_by_name.setdefault(os.path.basename(path)[:-4], []).append(path)
    for run in runs:
        name = run.get("name", "").split(" / ")[-1]  # "project:suite / name"
        result = run.get("result", "")
        counted = False
        case_failures = 0
        for path in xml_by_name.get(name, []):
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError:
                continue
            if root.tag != "testsuites":
                continue
            for case in root.iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    case_failures += 1
                elif case.get("result") == "skipped" or case.find("skipped") is not None or case.get("status") == "notrun":
                    skipped += 1
                else:
                    passed += 1
            counted = True
            break
        if counted:
            failed += case_failures
            if case_failures == 0 and result not in ("OK", "EXPECTEDFAIL", "SKIP"):
                failed += 1  # the executable failed although no case did (crash at exit, timeout)
            continue
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
    return passed, failed, skipped


def main() -> int:
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    format_ok = (sys.argv[2] if len(sys.argv) > 2 else "1") == "1"
    passed, failed, skipped = count(build) or (0, 0, 0)
    for extra in sys.argv[3:]:
        counted = count(extra)
        if counted is None:
            print(f"{extra}: no test results (the build failed or its tests did not run)")
            failed += 1
            continue
        p, f, s = counted
        print(f"{extra}: {p} passed, {f} failed" + (f", {s} skipped" if s else ""))
        passed, failed, skipped = passed + p, failed + f, skipped + s
    if not format_ok:
        failed += 1
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
