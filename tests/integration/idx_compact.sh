#!/usr/bin/env bash
# labels: integration robustness
# Waste is given back: 300 images indexed, then every one edited twice and
# re-indexed (old captions, vectors and FTS rows deleted: free pages and
# tombstones; an old-style database without auto_vacuum). Before, the file
# stayed at ~2x a clean index of the same files; now the end of the run
# compacts it to within 1.3x, `stats` shows the waste, the answers equal a
# clean index's, and runs SIGKILLed while they compact lose nothing.
set -u
BIN=${1:?usage: idx_compact.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
N=${IDX_COMPACT_IMAGES:-300}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v sqlite3 >/dev/null || { echo "FAIL sqlite3 CLI missing (apt-get install sqlite3)"; exit 1; }
idx_build_gen "$T" || { echo "FAIL cannot build the generator"; exit 1; }
W=$T/w
C=$T/c
run() { "$BIN" --db "$1" index --quiet --no-ocr --no-detect --workers 2 "$T/imgs" >/dev/null 2>>"$T/err"; }
bytes() { local n=0 f; for f in "$1/omnidex.db" "$1/omnidex.db-wal"; do [ -f "$f" ] && n=$((n + $(stat -c %s "$f"))); done; echo $n; }
dump() { # db dir -> what the index holds, normalised (as idx_crash.sh)
  sqlite3 -readonly "$1/omnidex.db" "
    SELECT 'img', hex(path), size, mtime_ns, hash, status FROM images ORDER BY path;
    SELECT 'content', hash, width, height, format, domain, engine_version, embedder FROM content ORDER BY hash;
    SELECT 'cap', hash, kind, lang, text FROM captions ORDER BY hash, kind, lang, text;
    SELECT 'vec', hash, field, hex(embedding) FROM vectors ORDER BY hash, field;"
}
answers() { # the images a few searches find (ranks among equal scores depend
  # on insertion order, which differs from a clean index even before
  # compaction existed: compare what is found, not its order)
  local q
  for q in "circle" "image" "green" "red picture" "blue"; do
    "$BIN" --db "$1" search --json -k 1000 --all "$q" | jq -c '[.results[] | .path] | sort'
  done
}

"$T/gen" png "$T/imgs" "$N" 11
run "$W"
idx_check "first index (rc=$?)" test $? -eq 0
# as a database made before auto_vacuum was set at creation
sqlite3 "$W/omnidex.db" "PRAGMA auto_vacuum=NONE; VACUUM;" >/dev/null
idx_check "made an old-style database (auto_vacuum 0)" test "$(sqlite3 "$W/omnidex.db" 'PRAGMA auto_vacuum')" = 0

"$T/gen" png "$T/imgs" "$N" 21 # every file edited
run "$W"
idx_check "re-index after edits (rc=$?)" test $? -eq 0
"$T/gen" png "$T/imgs" "$N" 22 # and again, killed a few times on the way
for d in 0.3 0.6 0.9 1.2; do
  "$BIN" --db "$W" index --quiet --no-ocr --no-detect --workers 2 "$T/imgs" >/dev/null 2>>"$T/err" &
  pid=$!
  sleep "$d"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
run "$W"
idx_check "final re-index (rc=$?)" test $? -eq 0
"$BIN" --db "$W" stats --json >"$T/w.json"
run "$C"
idx_check "clean index (rc=$?)" test $? -eq 0

wb=$(bytes "$W")
cb=$(bytes "$C")
echo "edited twice: $wb bytes, clean: $cb bytes ($(echo "scale=2; $wb / $cb" | bc)x)"
idx_check "database within 1.3x of a clean index ($wb vs $cb)" test $((wb * 10)) -le $((cb * 13))
idx_check "now frees pages incrementally (auto_vacuum 2)" test "$(sqlite3 "$W/omnidex.db" 'PRAGMA auto_vacuum')" = 2
idx_check "stats shows the waste left: free_bytes, tombstones" jq -e '(.free_bytes | type) == "number" and .free_bytes * 4 < .db_bytes and (.tombstones | type) == "number"' "$T/w.json"
idx_check "FAISS file no bigger than the clean one's" test "$(stat -c %s "$W/vectors.faiss")" -le "$(stat -c %s "$C/vectors.faiss")"
"$BIN" --db "$W" check >"$T/check.out" 2>&1
rc=$?
cat "$T/check.out"
idx_check "check passes after compaction (rc=$rc)" test $rc -eq 0
answers "$W" >"$T/w.ans"
answers "$C" >"$T/c.ans"
idx_check "answers recorded" test "$(grep -c . "$T/c.ans")" -eq 5
idx_check "searches find the same images as in a clean index" cmp -s "$T/w.ans" "$T/c.ans"
dump "$W" >"$T/w.dump"
dump "$C" >"$T/c.dump"
idx_check "the index holds what a clean one does (images, content, captions, vectors)" cmp -s "$T/w.dump" "$T/c.dump"
# A run with nothing to index still gives back waste it finds (a compaction
# killed half way, or a run killed just after its last write, is resumed by
# the next run even when no file changed): free pages made by hand here.
sqlite3 "$W/omnidex.db" "CREATE TABLE junk(b); INSERT INTO junk SELECT randomblob(4096) FROM generate_series(1, 2000); DROP TABLE junk;" >/dev/null 2>&1 ||
  sqlite3 "$W/omnidex.db" "CREATE TABLE junk(b); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<2000) INSERT INTO junk SELECT randomblob(4096) FROM c; DROP TABLE junk;"
fb=$(sqlite3 "$W/omnidex.db" 'PRAGMA freelist_count')
ps=$(sqlite3 "$W/omnidex.db" 'PRAGMA page_size')
idx_check "made free pages by hand ($fb of $ps bytes)" test $((fb * ps)) -ge 4000000
run "$W"
idx_check "unchanged re-index (rc=$?)" test $? -eq 0
fa=$(sqlite3 "$W/omnidex.db" 'PRAGMA freelist_count')
idx_check "a run that wrote nothing gave the free pages back ($fb -> $fa)" test "$fa" -lt $((fb / 10))
echo "$idx_fails failed"
exit $((idx_fails > 0))
