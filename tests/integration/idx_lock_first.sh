#!/usr/bin/env bash
# labels: integration
# The index lock is taken before SQLite is touched. While a long run holds
# the lock *and* SQLite's write transaction (OCR on, one worker: a batch
# stays open for seconds), a second `omnidex index` must exit 4 at once
# naming the holder's pid -- not wait in SQLite's busy handler and exit 3
# "database is locked" (it did: rc=3 after 10 s). --wait=SECONDS gives up
# with 4 after about that long, a plain --wait waits past SQLite's 10 s
# busy timeout and succeeds once the first run ends, and SIGTERM stops a
# waiting run with 6.
set -u
BIN=${1:?usage: idx_lock_first.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
N=${IDX_LOCK_IMAGES:-3000}
T=$(mktemp -d)
trap 'kill -CONT ${pid:-} 2>/dev/null; kill -KILL ${pid:-} ${wpid:-} ${tpid:-} 2>/dev/null; rm -rf "$T"' EXIT
DB=$T/db
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; } # start end -> seconds
idx_build_gen "$T" || { echo "FAIL cannot build the generator"; exit 1; }
mkdir -p "$T/small"
cp "$SRC/samples/bar_rainfall.png" "$T/small/"
"$BIN" --db "$DB" index --quiet --no-ocr --no-detect "$T/small" >/dev/null 2>"$T/0.err"
idx_check "small folder indexed first (rc=$?)" test $? -eq 0
"$T/gen" png "$T/big" "$N" 7

# the long run: OCR on, so each batch keeps SQLite's write lock for long
"$BIN" --db "$DB" index --quiet --no-detect --workers 1 "$T/big" >/dev/null 2>"$T/1.err" &
pid=$!
for _ in $(seq 1 200); do
  [ "$(tr -d '\n' <"$DB/lock" 2>/dev/null)" = "$pid" ] && break
  sleep 0.05
done
idx_check "first run holds the lock (pid $pid in it)" test "$(tr -d '\n' <"$DB/lock" 2>/dev/null)" = "$pid"
sleep 1 # well inside its first batch transaction
# Held there (SIGSTOP keeps its lock and its open transaction) until the
# checks below are done, so that they do not depend on how fast the
# machine indexes N images: a quiet machine finished 3000 in under 14 s
# and the run was gone before the last check.
kill -STOP "$pid"

worst=0
for i in 1 2 3; do
  t0=$(now)
  "$BIN" --db "$DB" index --quiet --no-ocr "$T/small" >/dev/null 2>"$T/2.$i.err"
  rc=$?
  el=$(secs "$t0" "$(now)")
  idx_check "second run #$i exits 4 (rc=$rc, $el s)" test $rc -eq 4
  idx_check "second run #$i answers in under 3 s ($el s)" test "$(echo "$el < 3" | bc)" = 1
  idx_check "second run #$i names the holder pid" grep -q "pid $pid" "$T/2.$i.err"
  idx_check "second run #$i is not a SQLite busy error" bash -c "! grep -qi 'database is locked' '$T/2.$i.err'"
  sleep 0.3
done

"$BIN" --db "$DB" stats --json >"$T/stats0.json" 2>"$T/stats0.err"
rc=$?
idx_check "stats answers during the run (rc=$rc)" test $rc -eq 0

t0=$(now)
"$BIN" --db "$DB" index --quiet --no-ocr --wait=1.5 "$T/small" >/dev/null 2>"$T/3.err"
rc=$?
el=$(secs "$t0" "$(now)")
idx_check "--wait=1.5 gives up with 4 (rc=$rc)" test $rc -eq 4
idx_check "... after about 1.5 s ($el s)" test "$(echo "$el >= 1.4 && $el < 5" | bc)" = 1
idx_check "... naming the holder pid" grep -q "pid $pid" "$T/3.err"

# a waiting run stopped by SIGTERM exits 6 promptly
"$BIN" --db "$DB" index --quiet --no-ocr --wait "$T/small" >/dev/null 2>"$T/4.err" &
tpid=$!
# Signal it only once it waits on the lock (it opened the lock file, which
# it does after installing its handlers): a SIGTERM that comes while the
# loader is still mapping libraries kills any program (rc 143; seen under a
# load of 7 after 0.5 s).
for _ in $(seq 1 400); do
  for f in /proc/$tpid/fd/*; do
    [ "$(readlink "$f" 2>/dev/null)" = "$DB/lock" ] && break 2
  done
  sleep 0.05
done
sleep 0.2
kill -TERM "$tpid"
t0=$(now)
wait "$tpid"
rc=$?
el=$(secs "$t0" "$(now)")
idx_check "SIGTERM stops a waiting run with 6 (rc=$rc, $el s)" test $rc -eq 6
tpid=

# a plain --wait waits longer than SQLite's 10 s busy timeout, then succeeds
"$BIN" --db "$DB" index --quiet --no-ocr --no-detect --wait "$T/small" >/dev/null 2>"$T/5.err" &
wpid=$!
sleep 11
alive=0; kill -0 "$wpid" 2>/dev/null && alive=1
idx_check "the --wait run still waits after 11 s" test $alive -eq 1
still=0; kill -0 "$pid" 2>/dev/null && still=1
idx_check "the first run was held through all of this" test $still -eq 1
kill -TERM "$pid"
kill -CONT "$pid" # the TERM is delivered as it resumes
wait "$pid"
rc=$?
idx_check "first run stopped by SIGTERM: 6 (rc=$rc)" test $rc -eq 6
pid=
wait "$wpid"
rc=$?
idx_check "the --wait run then completes (rc=$rc)" test $rc -eq 0
cat "$T/5.err"
wpid=
"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "index consistent afterwards" jq -e '.images >= 2 and .faiss_ntotal == .vectors' "$T/stats.json"
echo "$idx_fails failed"
exit $((idx_fails > 0))
