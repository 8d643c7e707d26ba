#!/usr/bin/env bash
# labels: integration robustness
# Crash safety of `omnidex index`: a few hundred generated images, the indexer
# SIGKILLed at random moments and re-run (the folder also changes between
# some kills: renames, edits, deletions, additions), then the database is
# compared with a clean run over the final folder: same images, captions and
# vectors, no duplicates, FAISS ntotal == vectors. IDX_CRASH_KILLS (default
# 20) and IDX_CRASH_IMAGES (default 300) scale it; idx_crash_slow.sh runs more.
set -u
BIN=${1:?usage: idx_crash.sh /path/to/omnidex}
BIN=$(realpath "$BIN")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
KILLS=${IDX_CRASH_KILLS:-20}
N=${IDX_CRASH_IMAGES:-300}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v sqlite3 >/dev/null || { echo "FAIL sqlite3 CLI missing (apt-get install sqlite3)"; exit 1; }
idx_build_gen "$T" || { echo "FAIL cannot build the generator"; exit 1; }
"$T/gen" png "$T/imgs" "$N" 11
# one bad file so error rows go through the crash loop too
printf 'not a png' >"$T/imgs/broken.png"

mutate() { # changes the folder between kills; the clean run sees the end state
  case $1 in
    5) for i in 0 1 2 3 4 5 6 7; do mv "$T/imgs/s00/img0000$i.png" "$T/imgs/s00/moved$i.png"; done ;;
    9) rm -f "$T"/imgs/s01/img0005?.png; "$T/gen" png "$T/imgs/new" 12 99 ;;
    13) for i in 1 2 3; do "$T/gen" one "$T/imgs/s02/img0010$i.png" 50 50 $((700 + i)); done ;;
    16) cp "$T/imgs/s03/img00150.png" "$T/imgs/copy_of_150.png" ;;
  esac
}

edit_some() { # new content for 40 files, so every cycle has captioning to cut
  local k idx
  for k in $(seq 0 39); do
    idx=$(( (k * 37 + $1 * 101) % N ))
    "$T/gen" one "$(printf '%s/imgs/s%02d/img%05d.png' "$T" $((idx / 50)) "$idx")" 56 44 $(( $1 * 1000 + k ))
  done
}

kills_during_work=0
for i in $(seq 1 "$KILLS"); do
  mutate "$i"
  [ "$i" -gt 2 ] && edit_some "$i"
  # the binary itself in the background ($! must be omnidex, not a subshell)
  "$BIN" --db "$T/crash" index --no-ocr --no-detect --quiet --workers 1 "$T/imgs" \
    >/dev/null 2>"$T/err.$i" &
  pid=$!
  # 5..200 ms (the first runs have the whole folder to do), then SIGKILL
  # wherever it is: reading, captioning, inside a commit, saving FAISS
  sleep "0.$(printf '%03d' $((5 + RANDOM % 195)))"
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null && kills_during_work=$((kills_during_work + 1))
  fi
  wait "$pid" 2>/dev/null
done
# SIGTERM (like SIGINT) stops cleanly after the current batch: exit code 6
"$T/gen" png "$T/imgs/term" 300 123
"$BIN" --db "$T/crash" index --no-ocr --no-detect --quiet --workers 1 "$T/imgs" >/dev/null 2>"$T/term.err" &
pid=$!
for _ in $(seq 1 200); do # once it holds the lock, its handlers are in place
  [ "$(tr -d '\n' <"$T/crash/lock" 2>/dev/null)" = "$pid" ] && break
  sleep 0.02
done
sleep 0.1
kill -TERM "$pid"
wait "$pid"
rc=$?
idx_check "SIGTERM mid-run exits 6, interrupted (rc=$rc)" test $rc -eq 6

"$BIN" --db "$T/crash" index --no-ocr --no-detect --quiet --log-json --workers 2 "$T/imgs" >"$T/final.json" 2>"$T/final.err"
rc=$?
cat "$T/final.err"
idx_check "run after $KILLS kill cycles ($kills_during_work killed mid-run) completes (rc=$rc: 0, or 1 if the broken file is new to it)" test $rc -le 1
idx_check "the kills hit running indexers at least $((KILLS / 2)) times" test "$kills_during_work" -ge $((KILLS / 2))

"$BIN" --db "$T/clean" index --no-ocr --no-detect --quiet --workers 2 "$T/imgs" >/dev/null 2>"$T/clean.err"
rc=$?
idx_check "clean run completes (rc=$rc)" test $rc -eq 1

dbfile=$(ls "$T/clean" | grep -E '\.(db|sqlite)$' | head -1)
idx_check "database file found ($dbfile)" test -n "$dbfile"
dump() { # db dir -> normalised listing of what the index holds
  sqlite3 -readonly "$1/$dbfile" "
    SELECT 'img', hex(path), size, mtime_ns, hash, status, ifnull(err_stage,''), ifnull(err_reason,'') FROM images ORDER BY path;
    SELECT 'content', hash, width, height, format, domain, chart_type, text_lang, engine_version, embedder FROM content ORDER BY hash;
    SELECT 'cap', hash, kind, lang, text FROM captions ORDER BY hash, kind, lang, text;
    SELECT 'vec', hash, field, hex(embedding) FROM vectors ORDER BY hash, field;"
}
dump "$T/clean" >"$T/clean.dump"
dump "$T/crash" >"$T/crash.dump"
n_img=$(grep -c '^img|' "$T/clean.dump")
n_files=$(find "$T/imgs" -name '*.png' | wc -l)
idx_check "clean index holds all $n_files files ($n_img)" test "$n_img" -eq "$n_files"
idx_check "crashed+resumed index == clean index (images, content, captions, vectors)" cmp -s "$T/clean.dump" "$T/crash.dump"
if ! cmp -s "$T/clean.dump" "$T/crash.dump"; then
  diff <(cut -c1-200 "$T/clean.dump") <(cut -c1-200 "$T/crash.dump") | head -20
fi
dups=$(sqlite3 -readonly "$T/crash/$dbfile" "
  SELECT (SELECT count(*) FROM (SELECT 1 FROM vectors GROUP BY hash, field HAVING count(*) > 1))
       + (SELECT count(*) FROM (SELECT 1 FROM captions GROUP BY hash, kind, lang HAVING count(*) > 1))
       + (SELECT count(*) FROM (SELECT 1 FROM images GROUP BY path HAVING count(*) > 1));")
idx_check "no duplicate vectors, captions or images ($dups)" test "$dups" = 0
"$BIN" --db "$T/crash" stats --json >"$T/stats.json"
idx_check "FAISS ntotal == vectors table" jq -e '.faiss_ntotal == .vectors and .vectors > 0' "$T/stats.json"
echo "$idx_fails failed"
exit $((idx_fails > 0))
