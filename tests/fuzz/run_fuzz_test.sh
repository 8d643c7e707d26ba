#!/usr/bin/env bash
# run_fuzz_test.sh - checks run_fuzz.sh (the fuzz ctests' wrapper) against a
# stand-in for a libFuzzer binary: a timeout whose input then finishes alone
# passes with a SLOW INPUT note; one that times out again, or crashes alone,
# fails; a crash, or a timeout without its artifact, fails at once; a clean
# run passes. Usage: run_fuzz_test.sh PATH/run_fuzz.sh
set -u
wrap=$1
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
fails=0 n=0
# The stand-in: fuzzing (no file argument) ends as $FAKE_FUZZ (ok, crash,
# timeout, timeout-noart); an input run alone ends as $FAKE_ALONE
# (ok, timeout, crash). It records the -timeout it was given.
cat >"$dir/fake" <<'EOF'
#!/usr/bin/env bash
prefix="" file="" t=""
for a in "$@"; do
    case $a in
    -artifact_prefix=*) prefix=${a#-artifact_prefix=} ;;
    -timeout=*) t=${a#-timeout=} ;;
    -*) ;;
    *) [ -f "$a" ] && file=$a ;;
    esac
done
echo "$t" >>"$FAKE_DIR/timeouts"
if [ -n "$file" ]; then
    case $FAKE_ALONE in ok) echo "Executed $file in 7 ms"; exit 0 ;; timeout) exit 70 ;; *) exit 1 ;; esac
fi
case $FAKE_FUZZ in
ok) echo "Done 10 runs"; exit 0 ;;
crash) echo "artifact_prefix='$prefix'; Test unit written to ${prefix}crash-ab12"; exit 77 ;;
timeout)
    printf 'x' >"${prefix}timeout-0123abcd"
    echo "artifact_prefix='$prefix'; Test unit written to ${prefix}timeout-0123abcd"
    exit 70 ;;
timeout-noart) exit 70 ;;
esac
EOF
chmod +x "$dir/fake"
export FAKE_DIR=$dir
# case FUZZ ALONE want-status want-second-timeout
check() {
    n=$((n + 1))
    rm -f "$dir/timeouts" "$dir"/art-*
    FAKE_FUZZ=$1 FAKE_ALONE=$2 bash "$wrap" 25 "$dir/art-" "$dir/fake" -rss_limit_mb=2048 \
        -max_total_time=60 "$dir" >"$dir/out" 2>&1
    local rc=$? ok=1
    if [ "$3" = 0 ] && [ "$rc" != 0 ]; then ok=0; fi
    if [ "$3" != 0 ] && [ "$rc" = 0 ]; then ok=0; fi
    local ts
    ts=$(tr '\n' ' ' <"$dir/timeouts")
    [ "$ts" = "$4" ] || ok=0
    if [ "$1/$2" = timeout/ok ] && ! grep -q "SLOW INPUT" "$dir/out"; then ok=0; fi
    if [ $ok = 0 ]; then
        fails=$((fails + 1))
        echo "FAIL: fuzz=$1 alone=$2: status $rc, timeouts given: '$ts' (want status" \
            "${3/1/non-zero}, '$4')"
        sed 's/^/    /' "$dir/out"
    fi
}
check ok ok 0 "25 "
check crash ok 1 "25 "
check timeout ok 0 "25 100 "
check timeout timeout 1 "25 100 "
check timeout crash 1 "25 100 "
check timeout-noart ok 1 "25 "
echo "run_fuzz_test: $((n - fails)) passed, $fails failed"
[ $fails = 0 ]
