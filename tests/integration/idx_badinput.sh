#!/usr/bin/env bash
# labels: integration robustness
# A folder of bad input: corrupt, truncated, zero-byte, text named .png/.jpg,
# a 100000x100000 header, an unreadable file, a symlink loop, a directory
# loop, a non-UTF-8 name. The run completes with exit code 1 ("some failed"),
# every bad file has an error row, every good file is indexed.
set -u
BIN=${1:?usage: idx_badinput.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
T=$(mktemp -d)
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
DB=$T/db
D=$T/in
idx_build_gen "$T" || { echo "FAIL cannot build the generator"; exit 1; }
"$T/gen" png "$D" 5 3                       # 5 good images in $D/s00
"$T/gen" one "$D/good.png" 64 48 1
"$T/gen" one "$D/caf"$'\xe9'"_latin1.png" 60 40 2   # non-UTF-8 name, good image
"$T/gen" one "$T/tmp.png" 80 60 4
head -c 300 "$T/tmp.png" >"$D/truncated.png"
: >"$D/zero.png"
printf 'just some text\n' >"$D/text.png"
printf 'just some text\n' >"$D/text.jpg"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00garbage garbage garbage' >"$D/corrupt.jpg"
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRjunkjunkjunkjunk' >"$D/corrupt.png"
"$T/gen" huge "$D/huge.png"
"$T/gen" one "$D/locked.png" 30 30 5
chmod 000 "$D/locked.png"
ln -s loop_b.png "$D/loop_a.png"
ln -s loop_a.png "$D/loop_b.png"
ln -s .. "$D/s00/up"                        # directory loop: cut silently
printf 'readme\n' >"$D/README.txt"          # not an image name: skipped
bad="truncated.png zero.png text.png text.jpg corrupt.jpg corrupt.png huge.png loop_a.png loop_b.png"
n_good=7
if [ -r "$D/locked.png" ]; then # root reads through chmod 000
  n_good=8
else
  bad="$bad locked.png"
fi

"$BIN" --db "$DB" index --no-ocr --no-detect --log-json "$D" >"$T/out.json" 2>"$T/err"
rc=$?
idx_check "run completes with 'some failed' (rc=$rc)" test $rc -eq 1
nbad=$(echo $bad | wc -w)
idx_check "summary: $nbad failed ($(idx_summary "$T/out.json" failed))" test "$(idx_summary "$T/out.json" failed)" = "$nbad"
idx_check "summary: README skipped" test "$(idx_summary "$T/out.json" skipped)" -ge 1
"$BIN" --db "$DB" errors --json >"$T/errors.json"
for f in $bad; do
  idx_check "error row for $f with stage and reason" \
    jq -e --arg f "/$f" 'any(.[]; (.path | endswith($f)) and (.stage | length > 0) and (.reason | length > 0))' "$T/errors.json"
done
idx_check "huge header: reason names the size" \
  jq -e 'any(.[]; (.path | endswith("/huge.png")) and (.reason | test("100000|pixel|limit")))' "$T/errors.json"
idx_check "README.txt has no error row" jq -e 'all(.[]; .path | endswith("README.txt") | not)' "$T/errors.json"
"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "good files indexed: $n_good ok images" jq -e ".images - .errors == $n_good or .images == $n_good" "$T/stats.json"
"$BIN" --db "$DB" show "$D/caf"$'\xe9'"_latin1.png" >/dev/null 2>&1
rc=$?
idx_check "the non-UTF-8 name is stored byte-exact (show finds it, rc=$rc)" test $rc -eq 0

# nothing changed: errors are not retried, exit 0; --retry-errors retries
"$BIN" --db "$DB" index --no-ocr --no-detect --log-json "$D" >"$T/out2.json" 2>/dev/null
rc=$?
idx_check "re-run without changes: no new failures (rc=$rc)" test "$(idx_summary "$T/out2.json" failed)" = 0
"$BIN" --db "$DB" index --no-ocr --no-detect --retry-errors --log-json "$D" >"$T/out3.json" 2>/dev/null
rc=$?
idx_check "--retry-errors retries them (rc=$rc)" test $rc -eq 1 -a "$(idx_summary "$T/out3.json" failed)" = "$nbad"
echo "$idx_fails failed"
exit $((idx_fails > 0))
