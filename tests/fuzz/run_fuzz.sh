#!/usr/bin/env bash
# run_fuzz.sh - the ctest fuzz_<name> test (tests/fuzz/CMakeLists.txt): runs
# the libFuzzer binary and tells a hang from an input that was only slow.
# libFuzzer's -timeout counts wall-clock time, so on a loaded machine an
# input that takes a few seconds can pass it and end the run as a timeout.
# Such an input (the timeout-* artifact the run wrote) is run once more
# alone, with four times the time: if it finishes there, it is reported
# (and kept in fuzz-artifacts) and the test passes; if it runs out of time
# again or fails, the test fails. Every other failure (crash, sanitizer
# report, leak, out-of-memory) fails the test at once.
# Usage: run_fuzz.sh TIMEOUT_S ARTIFACT_PREFIX BINARY [libFuzzer args...]
set -u
timeout_s=$1 prefix=$2 bin=$3
shift 3
tcode=70 # libFuzzer's exit status for a timeout (its default, made explicit)
limits=() # the memory limits apply to the second run too
for a in "$@"; do
    case $a in -rss_limit_mb=* | -malloc_limit_mb=*) limits+=("$a") ;; esac
done
log=$(mktemp) || exit 2
trap 'rm -f "$log"' EXIT
"$bin" -timeout="$timeout_s" -timeout_exitcode=$tcode -artifact_prefix="$prefix" "$@" 2>&1 |
    tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" = $tcode ] || exit "$rc"
unit=$(sed -n 's/^artifact_prefix=.*; Test unit written to \(.*timeout-[0-9a-f]*\)$/\1/p' "$log" |
    tail -n 1)
if [ -z "$unit" ] || [ ! -f "$unit" ]; then
    echo "run_fuzz: timeout, but no timeout artifact named in the log" >&2
    exit "$rc"
fi
again=$((4 * timeout_s))
echo "run_fuzz: $unit ran past -timeout=$timeout_s; running it alone with -timeout=$again" >&2
"$bin" -timeout="$again" -timeout_exitcode=$tcode "${limits[@]}" "$unit"
rc2=$?
if [ "$rc2" != 0 ]; then
    echo "run_fuzz: $unit still fails alone (status $rc2): a hang or a crash" >&2
    exit "$rc2"
fi
echo "run_fuzz: SLOW INPUT, not a hang: $unit finished alone within ${again} s (kept;" \
    "see tests/fuzz/README.md)" >&2
exit 0
