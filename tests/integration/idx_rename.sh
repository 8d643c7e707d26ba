#!/usr/bin/env bash
# labels: integration
# Rename, move and copy of indexed files: nothing is re-captioned (the
# summary counters say so), vanished paths are pruned, and search results
# follow the files to their new paths.
set -u
BIN=${1:?usage: idx_rename.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DB=$T/db
mkdir -p "$T/imgs"
cp "$SRC"/samples/*.png "$T/imgs/"
n=$(ls "$T/imgs" | wc -l)
idx_check "samples copied ($n)" test "$n" -ge 5

"$BIN" --db "$DB" index --log-json "$T/imgs" >"$T/1.json" 2>"$T/1.err"
rc=$?
idx_check "first index exits 0 (rc=$rc)" test $rc -eq 0
idx_check "first run: all $n new" test "$(idx_summary "$T/1.json" new)" = "$n"

mkdir -p "$T/imgs/moved/deeper"
mv "$T/imgs/bar_rainfall.png" "$T/imgs/moved/deeper/rain_chart.png"
mv "$T/imgs/pie_fruit_zh.png" "$T/imgs/fruit_share.png"
cp "$T/imgs/table_cities.png" "$T/imgs/moved/table_copy.png"

"$BIN" --db "$DB" index --log-json "$T/imgs" >"$T/2.json" 2>"$T/2.err"
rc=$?
idx_check "second index exits 0 (rc=$rc)" test $rc -eq 0
s() { idx_summary "$T/2.json" "$1"; }
idx_check "3 new paths ($(s new))" test "$(s new)" = 3
idx_check "3 reused, none re-captioned ($(s reused))" test "$(s reused)" = 3
idx_check "captioned = new + changed - reused - reembedded - failed = 0" \
  test $(( $(s new) + $(s changed) - $(s reused) - $(s reembedded) - $(s failed) )) -eq 0
idx_check "2 old paths removed ($(s removed))" test "$(s removed)" = 2
idx_check "the others unchanged ($(s unchanged))" test "$(s unchanged)" = $((n - 2))

"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "images = $((n + 1)), contents still $n" jq -e ".images == $((n + 1)) and .contents == $n" "$T/stats.json"
idx_check "FAISS ntotal == vectors" jq -e '.faiss_ntotal == .vectors' "$T/stats.json"

"$BIN" --db "$DB" search --json -k 3 "bar chart rainfall" >"$T/s1.json"
idx_check "search finds the moved bar chart at its new path" \
  jq -e 'any(.results[]; .path | endswith("/moved/deeper/rain_chart.png"))' "$T/s1.json"
idx_check "search no longer returns the old path" \
  jq -e 'all(.results[]; .path | endswith("/bar_rainfall.png") | not)' "$T/s1.json"
"$BIN" --db "$DB" search --json -k 3 "饼图" >"$T/s2.json"
idx_check "Chinese query finds the renamed pie chart" \
  jq -e 'any(.results[]; .path | endswith("/fruit_share.png"))' "$T/s2.json"
"$BIN" --db "$DB" show "$T/imgs/bar_rainfall.png" >/dev/null 2>&1
rc=$?
idx_check "show of the old path: not found (rc=$rc)" test $rc -eq 5
"$BIN" --db "$DB" show "$T/imgs/moved/table_copy.png" >/dev/null 2>&1
rc=$?
idx_check "show of the copy works (rc=$rc)" test $rc -eq 0

# touching a file (same bytes, new mtime) re-hashes it but reuses its captions
touch -d '2001-02-03 04:05:06' "$T/imgs/fruit_share.png"
"$BIN" --db "$DB" index --log-json "$T/imgs" >"$T/3.json" 2>"$T/3.err"
s() { idx_summary "$T/3.json" "$1"; }
idx_check "touched file: changed 1, reused 1 ($(s changed)/$(s reused))" \
  test "$(s changed)" = 1 -a "$(s reused)" = 1
echo "$idx_fails failed"
exit $((idx_fails > 0))
