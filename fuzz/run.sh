#!/usr/bin/env bash
# Builds seal's libFuzzer harnesses (fuzz/Package.swift, with -sanitize=fuzzer,address) and runs each for a
# bounded time, one after another, on a seed corpus made from real files (fuzz/seeds.py) plus what earlier runs found.
#
#   fuzz/run.sh [HARNESS...]       default: every harness
#   FUZZ_SECONDS=60                seconds per harness
#   FUZZ_DIR=.fuzz                 work folder (git-ignored): <harness>/corpus, seeds, dict, log.txt, crash-*/timeout-*/oom-*
#   FUZZ_KEEP_GOING=1              fork mode: go on after a crash, timeout or OOM and collect them all
#   FUZZ_ARGS="..."                more libFuzzer flags (e.g. -use_value_profile=1; -dict is set from the seeds)
#   FUZZ_NO_BUILD=1                use the binaries already in .build-fuzz
# Replay an input: ASAN_OPTIONS=detect_leaks=0 .build-fuzz/release/fuzz-NAME INPUT
#
# Prints executions and executions per second of each harness; exits 1 when any harness crashed, hung (-timeout) or
# ran out of memory, with the input saved in its folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${FUZZ_SECONDS:-60}
WORK=${FUZZ_DIR:-.fuzz}
BIN=.build-fuzz/release
ALL=(safetensors model-config model-load tokenizer-json tokenizer-encode toml config jsonl grade passages arc-tasks serve-request gguf)
HARNESSES=("$@")
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=("${ALL[@]}")

# Longest input per harness: whole small tokenizers, long answers (the grader's cost is in their length).
max_len() {
    case $1 in
        tokenizer-json|grade) echo 65536 ;;
        jsonl|passages|arc-tasks|tokenizer-encode|gguf) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    echo "== building the harnesses (release, -sanitize=fuzzer,address) into .build-fuzz"
    # SwiftPM's --sanitize=fuzzer (so that it links libFuzzer's main instead of renaming the harness's entry point)
    # and one -Xswiftc -sanitize=fuzzer,address for the compiler: SwiftPM's --sanitize=fuzzer --sanitize=address reach
    # swiftc as two flags, of which it keeps the last, in an order that varies — so a build got either no coverage
    # counters (libFuzzer fuzzing blind) or no ASan. The counter check below catches a blind build.
    swift build -c release --package-path fuzz --scratch-path .build-fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address 2>&1 \
        | grep -v "Cannot export local symbol" | grep -E "error|warning: unre|Compiling|Build|Linking" | grep -v "^\[.*Compiling" || true
    for h in "${HARNESSES[@]}"; do [ -x "$BIN/fuzz-$h" ] || { echo "fuzz: $BIN/fuzz-$h was not built" >&2; exit 2; }; done
fi

echo "== seeds"
rm -rf "$WORK/.seeds" && python3 fuzz/seeds.py "$WORK/.seeds" | sed 's/^/   /'

export SEAL_ROOT=$ROOT
# Leak checks are off: a parser that leaks is not a crash, and Swift's runtime caches read as leaks at exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}
# Swift's own crash handler would race libFuzzer's for the signal (and trip ASan reading memory); libFuzzer prints
# the symbolised stack and saves the input.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
# seal's modules must carry coverage counters (tens of thousands; the harness alone has about 1,500).
counters=$(SWIFT_BACKTRACE=enable=no "$BIN/fuzz-toml" -runs=0 -detect_leaks=0 -artifact_prefix="$WORK/" 2>&1 | grep -oE '\(([0-9]+) inline 8-bit counters' | grep -oE '[0-9]+' | head -1 || true)
if [ "${counters:-0}" -lt 5000 ]; then
    echo "fuzz: $BIN/fuzz-toml has ${counters:-no} coverage counters: seal's modules were built without -sanitize=fuzzer (rm -rf .build-fuzz and rebuild)" >&2
    exit 2
fi
failed=()
summary=()
for h in "${HARNESSES[@]}"; do
    dir="$WORK/$h"
    mkdir -p "$dir/corpus"
    rm -rf "$dir/seeds" && mkdir -p "$dir/seeds"
    [ -d "$WORK/.seeds/$h/seeds" ] && cp "$WORK/.seeds/$h/seeds/"* "$dir/seeds/" 2>/dev/null || true
    rm -f "$dir/dict" && { [ -f "$WORK/.seeds/$h/dict" ] && cp "$WORK/.seeds/$h/dict" "$dir/dict" || true; }
    before=$(ls "$dir" | grep -cE '^(crash|timeout|oom|leak)-' || true)
    flags=(-max_total_time="$SECONDS_EACH" -max_len="$(max_len "$h")" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=2048
           -print_final_stats=1 -artifact_prefix="$dir/" -detect_leaks=0)
    [ -f "$dir/dict" ] && flags+=(-dict="$dir/dict")
    [ -n "${FUZZ_KEEP_GOING:-}" ] && flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    touch "$dir/.started"
    echo "== fuzz-$h for ${SECONDS_EACH}s (log: $dir/log.txt)"
    set +e
    # shellcheck disable=SC2086
    "$BIN/fuzz-$h" "${flags[@]}" ${FUZZ_ARGS:-} "$dir/corpus" "$dir/seeds" >"$dir/log.txt" 2>&1
    rc=$?
    set -e
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/log.txt" | tail -1 | grep -oE '[0-9]+$' || true)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$dir/log.txt" | tail -1 | grep -oE '[0-9]+$' || true)
    if [ -z "$execs" ]; then   # fork mode, or a run cut short: the last status line
        last=$(grep -E '^#[0-9]+' "$dir/log.txt" | tail -1 || true)
        execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
        rate=$(grep -oE 'exec/s: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    fi
    cov=$(grep -E '^#[0-9]+' "$dir/log.txt" | tail -1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
    after=$(ls "$dir" | grep -cE '^(crash|timeout|oom|leak)-' || true)
    line=$(printf '%-18s %10s execs %8s exec/s  cov %6s  corpus %5s' "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$(ls "$dir/corpus" | wc -l)")
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        failed+=("$h")
        line+="  FAILED (rc $rc)"
        echo "$line"
        grep -E 'Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY|^ +#[0-9]+ .*/(Sources|fuzz/Sources)/' "$dir/log.txt" \
            | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in /      at /' | head -12 | sed 's/^/   /' || true
        # Each new input replayed alone (fork mode keeps no stack): where in seal it trapped, hung or allocated.
        find "$dir" -maxdepth 1 -newer "$dir/.started" -regextype egrep -regex '.*/(crash|timeout|oom|leak)-[0-9a-f]+' \
            | head -8 | while read -r input; do
            echo "   input: $input"
            timeout 60 "$BIN/fuzz-$h" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=2048 "$input" 2>&1 \
                | grep -E 'Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|^ +#[0-9]+ .*/(Sources|fuzz/Sources)/' \
                | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in /      at /' | head -5 | sed 's/^/   /' || true
        done
    else
        echo "$line"
    fi
    summary+=("$line")
done
echo "== summary (${SECONDS_EACH}s each)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} harness(es) found a crash, hang or OOM: ${failed[*]} (inputs saved under $WORK/<harness>/)" >&2
    exit 1
fi
