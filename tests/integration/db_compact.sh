#!/usr/bin/env bash
# labels: integration
# `omnidex compact`: on an index with free pages and the 4 KiB pages of an
# older omnidex it gives the pages back and rewrites the file with 16 KiB
# pages; the answers, `show` and `check` stay as they were. Without an
# index it exits 3 and creates nothing; while an index run holds the lock
# it exits 4.
set -u
BIN=${1:?usage: db_compact.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v sqlite3 >/dev/null || { echo "FAIL sqlite3 CLI missing (apt-get install sqlite3)"; exit 1; }
DB=$T/db
q() { sqlite3 "$DB/omnidex.db" "$1"; }
answers() {
  local q f
  for q in "bar chart" "rainfall" "水果" "table of cities" "poster"; do
    "$BIN" --db "$DB" search --json -k 5 "$q"
  done
  for f in "$SRC"/samples/*.png; do "$BIN" --db "$DB" show --json "$f"; done
}

"$BIN" --db "$T/none" compact >/dev/null 2>"$T/none.err"
rc=$?
idx_check "no index: exit 3 (rc=$rc)" test $rc -eq 3
idx_check "... saying what to do" grep -q "omnidex index" "$T/none.err"
idx_check "... and nothing created" test ! -e "$T/none"

"$BIN" --db "$DB" index --quiet --no-detect "$SRC/samples" >/dev/null 2>"$T/i.err"
rc=$?
idx_check "samples indexed (rc=$rc)" test $rc -le 1
idx_check "a new index has 16 KiB pages" test "$(q 'PRAGMA page_size')" = 16384
answers >"$T/a0"
# as an older omnidex left it: 4 KiB pages, and free pages
q "PRAGMA journal_mode=DELETE; PRAGMA page_size=4096; VACUUM; PRAGMA journal_mode=WAL;" >/dev/null
q "CREATE TABLE junk(b); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<500) INSERT INTO junk SELECT randomblob(4000) FROM c; DROP TABLE junk;"
idx_check "made 4 KiB pages" test "$(q 'PRAGMA page_size')" = 4096
fb=$(q 'PRAGMA freelist_count')
idx_check "made free pages ($fb)" test "$fb" -ge 400

"$BIN" --db "$DB" compact >"$T/c.out" 2>"$T/c.err"
rc=$?
idx_check "compact (rc=$rc)" test $rc -eq 0
read -r before after < <(sed -nE 's/^compacted: ([0-9]+) -> ([0-9]+) bytes$/\1 \2/p' "$T/c.out")
idx_check "it prints the size before and after (${before:-?} -> ${after:-?})" \
  test -n "${before:-}" -a -n "${after:-}"
idx_check "... and the database shrank" test "${after:-0}" -lt "${before:-0}"
idx_check "16 KiB pages now" test "$(q 'PRAGMA page_size')" = 16384
idx_check "no free pages left ($(q 'PRAGMA freelist_count'))" test "$(q 'PRAGMA freelist_count')" -eq 0
idx_check "back in WAL mode" test "$(q 'PRAGMA journal_mode')" = wal
answers >"$T/a1"
idx_check "answers and show unchanged" cmp -s "$T/a0" "$T/a1"
"$BIN" --db "$DB" check >"$T/k.out" 2>&1
rc=$?
idx_check "check finds nothing (rc=$rc)" test $rc -eq 0

# an index run (here: whoever holds the lock file) keeps compact out
flock "$DB/lock" sleep 30 &
holder=$!
for _ in $(seq 50); do flock -n "$DB/lock" true 2>/dev/null || break; sleep 0.1; done
"$BIN" --db "$DB" compact >/dev/null 2>"$T/l.err"
rc=$?
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
idx_check "lock held: exit 4 (rc=$rc)" test $rc -eq 4
echo "$idx_fails failed"
exit $((idx_fails > 0))
