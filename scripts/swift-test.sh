#!/usr/bin/env bash
# Runs the XCTest suites (release build, already built) and, when any fail, repeats every failing assertion and
# test name at the very end of the output: CI keeps only the tail of a long log, and the first thing a reader of
# a red run needs is which test failed and why.
set -uo pipefail
swift=${SWIFT:-swift}
log=$(mktemp "${TMPDIR:-/tmp}/seal-swift-test.XXXXXX")
trap 'rm -f "$log"' EXIT
"$swift" test -c release --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo
    echo "==== failing tests (swift test exit $status) ===="
    grep -E "error: |Test Case '.*' failed|Fatal error|Illegal instruction|Segmentation fault|signal [0-9]+|crashed" "$log" | cut -c1-600 | head -n 60
fi
exit "$status"
