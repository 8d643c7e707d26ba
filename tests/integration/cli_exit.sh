#!/usr/bin/env bash
# labels: integration
# Exit codes true to README's table and each command's --help: every
# command's codes 0/1/2/3/4/5 (6 is covered by idx_crash.sh and
# idx_lock_first.sh, 7 by the check tests), clear messages for bad paths and
# a missing index, and index --log-json's summary status matching the code.
set -u
BIN=${1:?usage: cli_exit.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
T=$(mktemp -d)
HOLD=
trap '[ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
DB=$T/db
NODB=$T/no-index-here
# want CODE ARGS...: runs omnidex ARGS, output in $T/out and $T/err
want() {
  local code=$1; shift
  "$BIN" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  check "omnidex $* -> $code (rc=$rc)" test $rc -eq "$code"
}
says() { check "  ... says: $1" grep -qF -- "$1" "$T/err"; }
summary() { # the --log-json summary's status
  python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()][-1]["status"])' "$T/out"
}

mkdir -p "$T/imgs" "$T/bad"
cp "$SRC/samples/bar_rainfall.png" "$SRC/samples/table_cities.png" "$T/imgs/"
printf 'not an image' >"$T/bad/broken.png"
printf 'notes' >"$T/notes.txt"

# global
want 2
want 2 nosuchcommand
want 2 --bogus
want 2 --db
want 0 --help
check "  ... --help lists exit codes 0-7" sh -c "grep -q 'Exit codes' '$T/out' && grep -q '7 database damaged' '$T/out'"
want 0 --version

# index
want 2 --db "$DB" index --bogus
want 2 --db "$DB" index -j abc "$T/imgs"
want 2 --db "$DB" index /does/not/exist
says "cannot index '/does/not/exist': No such file or directory"
want 2 --db "$DB" index /etc/passwd
says "not an image omnidex reads"
want 2 --db "$DB" index "$T/notes.txt"
want 2 --db "$DB" index "$T/imgs" /does/not/exist
check "  ... and nothing was indexed" sh -c "'$BIN' --db '$DB' stats --json | jq -e '.images == 0' >/dev/null"
want 2 --db "$T/fresh" index
says "none remembered"
want 2 --db "$DB" index --log-json /does/not/exist
check "  ... --log-json summary says failed ($(summary))" test "$(summary)" = failed
want 0 --db "$DB" index --quiet --no-detect "$T/imgs"
want 0 --db "$DB" index --log-json --no-detect "$T/imgs"
check "  ... --log-json summary says ok ($(summary))" test "$(summary)" = ok
want 1 --db "$DB" index --log-json --no-detect "$T/bad"
check "  ... --log-json summary says partial, not ok ($(summary))" test "$(summary)" = partial
want 1 --db "$DB" index --no-detect --retry-errors "$T/bad"
says "broken.png"
# lock held (by flock on DB/lock, as a running index holds it): 4
if command -v flock >/dev/null; then
  # the sleeping process itself holds the locked descriptor: killing it frees the lock
  (exec 9>>"$DB/lock" && flock 9 && exec sleep 60) >/dev/null 2>&1 &
  HOLD=$!
  for _ in $(seq 1 50); do flock -n "$DB/lock" true 2>/dev/null || break; sleep 0.1; done
  want 4 --db "$DB" index --log-json --no-detect "$T/imgs"
  check "  ... --log-json summary says failed ($(summary))" test "$(summary)" = failed
  kill "$HOLD" 2>/dev/null
  wait "$HOLD" 2>/dev/null
  HOLD=
fi

# rebuild
want 2 --db "$DB" rebuild somepath
want 2 --db "$DB" rebuild --bogus

# search / context
want 0 --db "$DB" search rainfall
want 0 --db "$DB" search zzzqqqxxyy
want 2 --db "$DB" search
want 2 --db "$DB" search --bogus rainfall
want 2 --db "$DB" search "domain:bogus rainfall"
want 3 --db "$NODB" search rainfall
says "run 'omnidex index FOLDER' first"
want 0 --db "$DB" context rainfall
want 2 --db "$DB" context --max-chars 5 rainfall
want 3 --db "$NODB" context rainfall
says "run 'omnidex index FOLDER' first"

# show
want 0 --db "$DB" show "$T/imgs/bar_rainfall.png"
want 0 --db "$DB" show --json "$T/imgs/bar_rainfall.png"
want 5 --db "$DB" show "$T/imgs/never_indexed.png"
want 2 --db "$DB" show
want 2 --db "$DB" show --bogus "$T/imgs/bar_rainfall.png"
want 2 --db "$DB" show a.png b.png
want 3 --db "$NODB" show "$T/imgs/bar_rainfall.png"
says "run 'omnidex index FOLDER' first"

# caption
want 0 caption --json --no-ocr --no-detect "$T/imgs/bar_rainfall.png"
want 2 caption --bogus "$T/imgs/bar_rainfall.png"
want 2 caption
want 3 caption --no-detect "$T/bad/broken.png"
want 3 caption "$T/missing.png"

# stats / errors
want 0 --db "$DB" stats
want 2 --db "$DB" stats --bogus
want 2 --db "$DB" stats extra
want 3 --db "$NODB" stats
says "run 'omnidex index FOLDER' first"
want 0 --db "$DB" errors
want 0 --db "$DB" errors --json
want 2 --db "$DB" errors --jsn
want 3 --db "$NODB" errors

# check
want 0 --db "$DB" check
want 2 --db "$DB" check --bogus
want 2 --db "$DB" check extra
want 3 --db "$NODB" check
says "run 'omnidex index FOLDER' first"
check "a read-only command did not create the missing index" test ! -e "$NODB"

# every command's --help exits 0 and states its exit codes
for c in index rebuild search context show caption stats errors check; do
  want 0 "$c" --help
  check "  ... '$c --help' lists its exit codes" grep -q '^Exit' "$T/out"
done
echo "$fails failed"
test $fails -eq 0
