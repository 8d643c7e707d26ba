#!/usr/bin/env bash
# labels: integration
# End to end through the omnidex binary: index the bundled samples, search
# in English and Chinese, filters, JSON, context, show, stats, bad input.
set -u
BIN=${1:?usage: cli_basic.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DB=$T/db
fails=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

"$BIN" --db "$DB" index --quiet "$SRC/samples" >"$T/index.out" 2>"$T/index.err"
rc=$?
check "index exits 0 (rc=$rc)" test $rc -eq 0
"$BIN" --db "$DB" stats --json >"$T/stats.json"
check "stats counts 7 images" jq -e '.images == 7' "$T/stats.json"
check "stats: faiss ntotal equals vectors" jq -e '.faiss_ntotal == .vectors and .vectors > 0' "$T/stats.json"

top() { "$BIN" --db "$DB" search -k "$1" "$2" | cut -f2; }
check "bar chart query finds the bar chart in the top 3" sh -c "$(declare -f top); BIN='$BIN' DB='$DB'; top 3 'bar chart' | grep -q bar_rainfall"
check "Chinese pie query finds the pie chart in the top 3" sh -c "$(declare -f top); BIN='$BIN' DB='$DB'; top 3 '饼图' | grep -q pie_fruit"
check "table query finds the table first" sh -c "$(declare -f top); BIN='$BIN' DB='$DB'; top 1 'table of cities' | grep -q table_cities"
check "OCR text is searchable" sh -c "$(declare -f top); BIN='$BIN' DB='$DB'; top 3 'book fair' | grep -q poster_book_fair"

"$BIN" --db "$DB" search --json -k 3 "domain:chart visitors" >"$T/s.json"
check "inline domain filter keeps only charts" jq -e '.count > 0 and all(.results[]; .domain == "chart")' "$T/s.json"
check "scores are within 0..1 and sorted" jq -e '[.results[].score] as $s | all($s[]; . >= 0 and . <= 1) and $s == ($s | sort | reverse)' "$T/s.json"

"$BIN" --db "$DB" search "" >/dev/null 2>&1; rc=$?
check "empty query is a usage error (rc=$rc)" test $rc -eq 2
"$BIN" --db "$DB" search 'domain:spaceship x' >/dev/null 2>"$T/err"; rc=$?
check "unknown domain is a usage error (rc=$rc)" test $rc -eq 2
"$BIN" --db "$DB" search '"unbalanced AND ( NEAR* OR' >/dev/null 2>&1; rc=$?
check "FTS syntax in a query is plain text (rc=$rc)" test $rc -eq 0

"$BIN" --db "$DB" context --max-chars 3000 "rainfall" >"$T/ctx.md"
check "context cites by number" grep -q "Cite the images" "$T/ctx.md"
check "context lists the bar chart" grep -q "bar_rainfall" "$T/ctx.md"
sz=$(wc -c <"$T/ctx.md")
check "context within budget ($sz <= 3000)" test "$sz" -le 3000

"$BIN" --db "$DB" show "$SRC/samples/table_cities.png" >"$T/show.txt"; rc=$?
check "show finds an indexed image (rc=$rc)" test $rc -eq 0
check "show prints a Chinese caption" grep -q "(zh)" "$T/show.txt"
"$BIN" --db "$DB" show /nonexistent.png >/dev/null 2>&1; rc=$?
check "show of an unknown path exits 5 (rc=$rc)" test $rc -eq 5

# a second run changes nothing
"$BIN" --db "$DB" index --log-json "$SRC/samples" >"$T/index2.json"
check "re-run skips all unchanged files" grep -q '"unchanged":7' "$T/index2.json"

# an exact copy elsewhere reuses the captions and collapses into one result
mkdir -p "$T/copies"
cp "$SRC/samples/bar_rainfall.png" "$T/copies/copy_of_rainfall.png"
"$BIN" --db "$DB" index --log-json "$T/copies" >"$T/index3.json"
check "a copy is reused, not captioned again" jq -se 'map(select(.event=="summary"))[0] | .reused == 1 and .new == 1' "$T/index3.json"
n=$("$BIN" --db "$DB" search -k 10 "rainfall" | grep -c -E "bar_rainfall|copy_of_rainfall")
check "copies collapse into one result ($n)" test "$n" -eq 1
n=$("$BIN" --db "$DB" search --all -k 10 "rainfall" | grep -c -E "bar_rainfall|copy_of_rainfall")
check "--all lists both copies ($n)" test "$n" -eq 2

# rebuild --fresh builds beside and swaps in: same images, search works
"$BIN" --db "$DB" rebuild --fresh --quiet; rc=$?
check "rebuild --fresh exits 0 (rc=$rc)" test $rc -eq 0
check "no leftover beside the database" test ! -e "$DB.fresh"
"$BIN" --db "$DB" stats --json >"$T/stats2.json"
check "rebuilt index has the same 8 images" jq -e '.images == 8 and .faiss_ntotal == .vectors' "$T/stats2.json"
check "search works after the swap" sh -c "$(declare -f top); BIN='$BIN' DB='$DB'; top 3 'bar chart' | grep -q bar_rainfall"
"$BIN" --db "$DB" rebuild somepath >/dev/null 2>&1; rc=$?
check "rebuild with a path is a usage error (rc=$rc)" test $rc -eq 2

"$BIN" --help | grep -q "Exit codes"; check "--help documents exit codes" test $? -eq 0
"$BIN" nosuchcommand >/dev/null 2>&1; rc=$?
check "unknown command exits 2 (rc=$rc)" test $rc -eq 2
echo "$fails failed"
test $fails -eq 0
