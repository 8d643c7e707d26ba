#!/usr/bin/env bash
# labels: integration
# mtime_ns keeps every digit: a file whose mtime has nanoseconds a double
# cannot hold (1683356889123456789 -> ...768 as a double) is stored as that
# INTEGER and printed exactly by show/errors --json (they printed
# 1.6833568891234568e+18). An old row holding the value rounded through a
# double (INTEGER affinity stores an integral REAL as that integer) differs
# from the file's: the next run re-reads the file, reuses its content
# (nothing re-captioned) and stores the exact value; the run after finds it
# unchanged.
set -u
BIN=${1:?usage: idx_mtime.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v sqlite3 >/dev/null || { echo "FAIL sqlite3 CLI missing (apt-get install sqlite3)"; exit 1; }
DB=$T/db
mkdir -p "$T/imgs"
cp "$SRC/samples/bar_rainfall.png" "$T/imgs/a.png"
printf 'not a png' >"$T/imgs/broken.png"
touch -d '2023-05-06 07:08:09.123456789' "$T/imgs/a.png" "$T/imgs/broken.png"
NS=$(stat -c '%.9Y' "$T/imgs/a.png" | tr -d .)
idx_check "the file system keeps nanoseconds ($NS)" test "$NS" = 1683356889123456789
q() { sqlite3 -readonly "$DB/omnidex.db" "$1"; }

"$BIN" --db "$DB" index --quiet --no-ocr --no-detect "$T/imgs" >/dev/null 2>"$T/1.err"
rc=$?
idx_check "indexed (rc=$rc: 1, the broken file)" test $rc -eq 1
idx_check "stored as INTEGER" test "$(q "SELECT typeof(mtime_ns) FROM images WHERE CAST(path AS TEXT) LIKE '%/a.png'")" = integer
idx_check "stored exactly" test "$(q "SELECT mtime_ns FROM images WHERE CAST(path AS TEXT) LIKE '%/a.png'")" = "$NS"
"$BIN" --db "$DB" show --json "$T/imgs/a.png" >"$T/show.json"
idx_check "show --json prints every digit" grep -Eq "\"mtime_ns\":[[:space:]]*$NS," "$T/show.json"
idx_check "show --json is still JSON" jq -e '.size > 0' "$T/show.json"
"$BIN" --db "$DB" errors --json >"$T/errors.json"
idx_check "errors --json prints every digit" grep -Eq "\"mtime_ns\":[[:space:]]*$NS," "$T/errors.json"

# as a writer that went through a double would have left it: digits lost
sqlite3 "$DB/omnidex.db" "UPDATE images SET mtime_ns = mtime_ns * 1.0;"
idx_check "simulated old row holds the rounded value" test "$(q "SELECT mtime_ns FROM images WHERE CAST(path AS TEXT) LIKE '%/a.png'")" = 1683356889123456768
"$BIN" --db "$DB" index --no-ocr --no-detect --log-json "$T/imgs" >"$T/2.json" 2>"$T/2.err"
idx_check "exact again after one re-read" test "$(q "SELECT mtime_ns FROM images WHERE CAST(path AS TEXT) LIKE '%/a.png'")" = "$NS"
idx_check "... which reused the content (reused 1, nothing captioned)" test "$(idx_summary "$T/2.json" reused)" = 1
"$BIN" --db "$DB" index --no-ocr --no-detect --log-json "$T/imgs" >"$T/3.json" 2>"$T/3.err"
idx_check "the run after finds both files unchanged" test "$(idx_summary "$T/3.json" unchanged)" = 2
echo "$idx_fails failed"
exit $((idx_fails > 0))
