#!/usr/bin/env bash
# A short run of bench_lex (registered by bench/CMakeLists.txt when tests
# are built): it exits 0, prints JSON, and what it measured is what it
# says it measured: the pruned top-k equals the exhaustive scorer and FTS5
# on every query compared. Not a timing check. bench_lex ends with exit 1
# and the error when a search fails instead of timing the failure.
set -u
BIN=${1:?usage: bench_lex_check.sh /path/to/bench_lex}
command -v jq >/dev/null || { echo "FAIL jq missing"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
jqc() { jq -e "$1" "$T/out.json" >/dev/null; }
TMPDIR=$T "$BIN" --n 3000 --n 500 --queries 40 --fts-queries 20 >"$T/out.json" 2>"$T/err"
rc=$?
check "bench_lex exits 0 (got $rc: $(head -c 300 "$T/err"))" test "$rc" = 0
check "two runs of JSON" jqc 'length == 2'
check "pruned top-k = exhaustive on 40 of 40 queries, both sizes" \
    jqc 'all(.[]; .pruned_equals_exhaustive == "40/40")'
check "scores = FTS5 on 20 of 20 queries, both sizes" \
    jqc 'all(.[]; .scores_equal_fts5 == "20/20")'
check "rows were scored" jqc 'all(.[]; .mean_rows_scored_pruned > 0)'
check "no database left behind" test -z "$(ls "$T" | grep -v '^out.json$\|^err$')"
exit $((fails > 0))
