#!/usr/bin/env bash
# labels: integration robustness
# `omnidex check` and damage: a clean index passes (exit 0); 200 bytes
# flipped at points across the SQLite file either leave every answer as it
# was or are found by check (exit 7) -- never a silent wrong answer that
# check misses -- and search/stats on a damaged file answer as before or
# exit 7 saying "omnidex check", never the generic fatal 3. A flipped FAISS
# file is found too and repaired by the next index run.
set -u
BIN=${1:?usage: db_check.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DB=$T/db
flip() { # src dst offset: XOR 200 bytes from offset
  python3 - "$1" "$2" "$3" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
o = int(sys.argv[3])
for i in range(o, min(o + 200, len(b))):
    b[i] ^= 0xA5
open(sys.argv[2], 'wb').write(b)
PY
}
queries=("bar chart rainfall" "table" "document" "photo")
answers() { # db dir -> all query answers, or "rc=N"
  local q rc
  for q in "${queries[@]}"; do
    "$BIN" --db "$1" search --json -k 5 "$q" 2>>"$T/ans.err"; rc=$?
    [ $rc -eq 0 ] || echo "rc=$rc"
  done
}

"$BIN" --db "$DB" index --quiet --no-detect "$SRC/samples" >/dev/null 2>"$T/i.err"
rc=$?
idx_check "samples indexed (rc=$rc)" test $rc -le 1
"$BIN" --db "$DB" check >"$T/c0.out" 2>&1
rc=$?
idx_check "a clean index passes check (rc=$rc)" test $rc -eq 0
"$BIN" --db "$DB" check --json >"$T/c0.json" 2>/dev/null
idx_check "check --json: ok, no problems, counts" jq -e '.ok == true and (.problems | length) == 0 and .vectors == .faiss_ntotal and .images > 0' "$T/c0.json"
answers "$DB" >"$T/clean.ans"
idx_check "clean answers recorded" test -s "$T/clean.ans"

size=$(stat -c %s "$DB/omnidex.db")
# Pages fill from their end (cells), so a flip is aimed at the last 200
# bytes of the page at each share of the file: with 16 KiB pages most of a
# small index's pages is unused space, where a flip changes nothing.
ps=$(python3 -c "import sys; b=open(sys.argv[1],'rb').read(18); p=b[16]*256+b[17]; print(65536 if p == 1 else p)" "$DB/omnidex.db")
npages=$((size / ps))
detected=0 silent=0 fatal=0 n=0
for pct in 0 15 25 35 45 50 55 65 75 85 95; do
  off=0
  [ "$pct" -gt 0 ] && off=$(( (npages * pct / 100 + 1) * ps - 200 ))
  D=$T/d$pct
  mkdir -p "$D"
  cp "$DB/vectors.faiss" "$D/"
  flip "$DB/omnidex.db" "$D/omnidex.db" "$off"
  n=$((n + 1))
  "$BIN" --db "$D" check >"$T/c$pct.out" 2>"$T/c$pct.err"
  crc=$?
  answers "$D" >"$T/a$pct.ans"
  "$BIN" --db "$D" stats >/dev/null 2>"$T/st$pct.err"
  src=$?
  if [ $crc -eq 7 ]; then
    detected=$((detected + 1))
    grep -q '^damaged: ' "$T/c$pct.out" || { echo "FAIL check at $pct% exits 7 but lists nothing"; idx_fails=$((idx_fails + 1)); }
  elif ! cmp -s "$T/clean.ans" "$T/a$pct.ans"; then
    silent=$((silent + 1))
    echo "FAIL flip at $pct% (offset $off): answers changed, check rc=$crc"
  fi
  grep -q '^rc=3' "$T/a$pct.ans" && fatal=$((fatal + 1))
  [ $src -eq 3 ] && fatal=$((fatal + 1))
  for f in "$T/st$pct.err" "$T/ans.err"; do
    if grep -qi 'malformed\|damaged' "$f" && ! grep -q 'omnidex check' "$f"; then
      echo "FAIL a damage message at $pct% does not point to 'omnidex check'"; idx_fails=$((idx_fails + 1))
    fi
  done
  : >"$T/ans.err"
done
echo "flips: $n, found by check: $detected, silent wrong answers: $silent, fatal exit 3: $fatal"
idx_check "no flip changes an answer without check finding it ($silent)" test $silent -eq 0
idx_check "search and stats never exit 3 on damage ($fatal)" test $fatal -eq 0
idx_check "check finds damage in at least 4 of $n flips ($detected)" test $detected -ge 4
idx_check "the file header flipped: check finds it" test "$(grep -c '^damaged' "$T/c0.out")" -ge 1
rc=0; "$BIN" --db "$T/d0" search "table" >/dev/null 2>"$T/d0.err" || rc=$?
idx_check "search on a file that is no database exits 7 (rc=$rc)" test $rc -eq 7
idx_check "... saying to run omnidex check" grep -q 'omnidex check' "$T/d0.err"

# the FAISS file flipped: found, and the next index run repairs it
F=$T/f
cp -r "$DB" "$F"
fsize=$(stat -c %s "$F/vectors.faiss")
flip "$DB/vectors.faiss" "$F/vectors.faiss" $((fsize / 2))
"$BIN" --db "$F" check >"$T/f.out" 2>&1
rc=$?
idx_check "a flipped FAISS file is found (rc=$rc)" test $rc -eq 7
idx_check "... named as the FAISS file" grep -q 'faiss file' "$T/f.out"
"$BIN" --db "$F" index --quiet --no-detect >/dev/null 2>"$T/fi.err"
"$BIN" --db "$F" check >"$T/f2.out" 2>&1
rc=$?
idx_check "after an index run the check passes again (rc=$rc)" test $rc -eq 0

# a damaged database is not written into: index refuses with 7
rc=0; "$BIN" --db "$T/d50" index --quiet --no-detect "$SRC/samples" >/dev/null 2>"$T/w.err" || rc=$?
if grep -q 'sqlite integrity' "$T/c50.out"; then
  idx_check "index on a structurally damaged database exits 7 (rc=$rc)" test $rc -eq 7
fi
echo "$idx_fails failed"
exit $((idx_fails > 0))
