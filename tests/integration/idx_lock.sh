#!/usr/bin/env bash
# labels: integration
# One writer at a time: while an index run holds the lock, a second run
# exits at once with the lock code (4) naming the holder's pid, a --wait run
# waits and then succeeds, and searches keep answering (WAL).
set -u
BIN=${1:?usage: idx_lock.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
N=${IDX_LOCK_IMAGES:-6000}
T=$(mktemp -d)
trap 'kill -KILL ${pid:-} 2>/dev/null; rm -rf "$T"' EXIT
DB=$T/db
idx_build_gen "$T" || { echo "FAIL cannot build the generator"; exit 1; }
mkdir -p "$T/small"
cp "$SRC/samples/bar_rainfall.png" "$T/small/"
"$BIN" --db "$DB" index --quiet "$T/small" >/dev/null 2>"$T/0.err"
idx_check "small folder indexed first (rc=$?)" test $? -eq 0
"$T/gen" png "$T/big" "$N" 5

# the long run
"$BIN" --db "$DB" index --quiet --no-ocr --no-detect --workers 1 "$T/big" >/dev/null 2>"$T/1.err" &
pid=$!
for _ in $(seq 1 200); do # up to 10 s until it holds the lock
  [ "$(cat "$DB/lock" 2>/dev/null | tr -d '\n')" = "$pid" ] && break
  sleep 0.05
done
idx_check "first run holds the lock (pid $pid written in it)" test "$(cat "$DB/lock" 2>/dev/null | tr -d '\n')" = "$pid"

"$BIN" --db "$DB" index --quiet --no-ocr "$T/small" >/dev/null 2>"$T/2.err"
rc=$?
idx_check "second run exits with the lock code 4 (rc=$rc)" test $rc -eq 4
idx_check "its message names the holder pid" grep -q "pid $pid" "$T/2.err"

"$BIN" --db "$DB" search --json -k 3 "bar chart" >"$T/s.json" 2>"$T/s.err"
rc=$?
idx_check "a search during indexing answers (rc=$rc)" test $rc -eq 0
idx_check "... with the image indexed before" jq -e 'any(.results[]; .path | endswith("/bar_rainfall.png"))' "$T/s.json"

"$BIN" --db "$DB" index --quiet --wait --no-ocr --no-detect "$T/small" >/dev/null 2>"$T/3.err" &
wpid=$!
sleep 0.3
idx_check "a --wait run is still waiting while the first runs" kill -0 "$wpid"
still=0
kill -0 "$pid" 2>/dev/null && still=1
idx_check "the first run was still running through all of this (else raise IDX_LOCK_IMAGES)" test $still -eq 1

wait "$pid"
rc=$?
idx_check "first run completes (rc=$rc)" test $rc -eq 0
wait "$wpid"
rc=$?
idx_check "the --wait run then completes (rc=$rc)" test $rc -eq 0
"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "all $((N + 1)) images indexed" jq -e ".images == $((N + 1)) and .faiss_ntotal == .vectors" "$T/stats.json"
echo "$idx_fails failed"
exit $((idx_fails > 0))
