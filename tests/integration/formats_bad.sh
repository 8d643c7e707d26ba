#!/usr/bin/env bash
# labels: integration robustness
# Broken files of every new format, made here from the committed PNG with
# Debian's tools (heif-enc, cwebp, gif2webp, ImageMagick) and then cut or
# patched: truncated, a huge declared size (in the header each format
# really has: HEIF's ispe box, WebP's VP8X canvas, GIF's logical screen,
# TIFF's ImageWidth/ImageLength, BMP's info header), corrupt. One index
# run over all of them completes (exit 1, "some failed"), every broken
# file has an error row whose reason names the format and what is wrong,
# a good copy of each format beside them is indexed, and nothing crashes.
# Then the files the walk skips (other names, other image kinds, hidden)
# are named in --log-json and counted by reason by 'errors --skipped'.
# A missing tool fails the test.
set -u
BIN=${1:?usage: formats_bad.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
PNG=$SRC/tests/fixtures/formats/photo.png
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
for tool in heif-enc cwebp gif2webp convert jq od dd grep; do
    check "tool $tool is installed" command -v "$tool"
done
[ "$fails" -eq 0 ] || { echo "$fails failed (install them: scripts/install_deps.sh)"; exit 1; }

G=$T/good
D=$T/in
mkdir -p "$G" "$D"
heif-enc -q 80 -o "$G/p.heic" "$PNG" >"$T/tools.log" 2>&1
heif-enc -A -q 80 -o "$G/p.avif" "$PNG" >>"$T/tools.log" 2>&1
convert "$PNG" "$G/p.gif" >>"$T/tools.log" 2>&1
cwebp -quiet -q 80 "$PNG" -o "$G/p.webp" >>"$T/tools.log" 2>&1
# an animated WebP (VP8X + ANIM chunks): two frames, the second negated
convert "$PNG" \( "$PNG" -negate \) -loop 0 "$T/anim.gif" >>"$T/tools.log" 2>&1
gif2webp -quiet "$T/anim.gif" -o "$T/anim.webp" >>"$T/tools.log" 2>&1
check "made an animated WebP" sh -c "head -c 16 '$T/anim.webp' | grep -q VP8X"
convert "$PNG" -compress lzw "$G/p.tif" >>"$T/tools.log" 2>&1
convert "$PNG" "$G/p.bmp" >>"$T/tools.log" 2>&1
FMTS="heic avif webp gif tif bmp"
for e in $FMTS; do
    check "made p.$e" test -s "$G/p.$e"
    cp "$G/p.$e" "$D/good.$e"
done
cp "$T/anim.webp" "$D/good_anim.webp"
convert "$PNG" "$PNG" "$PNG" "$D/good_pages.tif" >>"$T/tools.log" 2>&1

# write_at FILE OFFSET HEXBYTES: overwrite bytes in place
write_at() {
    printf "$(echo "$3" | sed 's/\(..\)/\\x\1/g')" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
le16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

for e in $FMTS; do
    n=$(wc -c <"$G/p.$e")
    # truncated: two thirds of the file
    head -c $((n * 2 / 3)) "$G/p.$e" >"$D/truncated.$e"
    # corrupt: a run of 0x5a over the second quarter (headers intact)
    cp "$G/p.$e" "$D/corrupt.$e"
    head -c $((n / 4)) /dev/zero | tr '\0' 'Z' |
        dd of="$D/corrupt.$e" bs=1 seek=$((n / 4)) conv=notrunc status=none
    cp "$G/p.$e" "$D/huge.$e"
done
# huge declared sizes, each in its own header
for e in heic avif; do
    for off in $(grep -obUa ispe "$D/huge.$e" | cut -d: -f1); do
        write_at "$D/huge.$e" $((off + 8)) 0000ea600000ea60 # 60000 x 60000
    done
done
cp "$T/anim.webp" "$D/huge.webp"
write_at "$D/huge.webp" 24 5fea005fea00    # VP8X canvas: (59999+1) x (59999+1)
write_at "$D/huge.gif" 6 60ea60ea           # logical screen 60000 x 60000
write_at "$D/huge.bmp" 18 60ea000060ea0000  # BITMAPINFOHEADER width, height
ifd=$(le32 "$D/huge.tif" 4)                 # ImageMagick writes little-endian TIFF
cnt=$(le16 "$D/huge.tif" "$ifd")
for i in $(seq 0 $((cnt - 1))); do
    at=$((ifd + 2 + 12 * i))
    tag=$(le16 "$D/huge.tif" "$at")
    typ=$(le16 "$D/huge.tif" $((at + 2)))
    if [ "$tag" = 256 ] || [ "$tag" = 257 ]; then
        if [ "$typ" = 3 ]; then write_at "$D/huge.tif" $((at + 8)) 60ea; else write_at "$D/huge.tif" $((at + 8)) 60ea0000; fi
    fi
done

"$BIN" --db "$T/db" index --no-ocr --log-json "$D" >"$T/out.json" 2>"$T/err"
rc=$?
check "run completes with 'some failed' (rc=$rc)" test $rc -eq 1
check "no crash, no sanitizer report on stderr" sh -c "! grep -Eq 'AddressSanitizer|runtime error|Segmentation|Aborted' '$T/err'"
"$BIN" --db "$T/db" errors --json >"$T/errors.json"
for e in $FMTS; do
    check "good.$e indexed" sh -c "'$BIN' --db '$T/db' show --json '$D/good.$e' | jq -e '.status == \"ok\"' >/dev/null"
    check "truncated.$e: error row, decode stage, says truncated or corrupt" jq -e --arg f "/truncated.$e" \
        'any(.[]; (.path | endswith($f)) and .stage == "decode" and (.reason | test("truncated|corrupt|End of data"; "i")))' "$T/errors.json"
    check "huge.$e: error row naming the size or the limit" jq -e --arg f "/huge.$e" \
        'any(.[]; (.path | endswith($f)) and (.reason | test("60000|limit"; "i")))' "$T/errors.json"
    # corrupt pixel data may still decode (BMP has no checksum): indexed or an error row, never lost
    check "corrupt.$e: indexed or an error row with a reason" sh -c "
        '$BIN' --db '$T/db' show --json '$D/corrupt.$e' | jq -e '.status == \"ok\" or (.error | length > 0)' >/dev/null ||
        jq -e --arg f '/corrupt.$e' 'any(.[]; (.path | endswith(\$f)) and (.reason | length > 0))' '$T/errors.json' >/dev/null"
done
"$BIN" --db "$T/db" show --json "$D/good_anim.webp" >"$T/anim.json"
check "an animated WebP: indexed from its first frame, 2 frames, flagged" \
    jq -e '.status == "ok" and .description.frames == 2 and .description.animated == true' "$T/anim.json"
"$BIN" --db "$T/db" show --json "$D/good_pages.tif" >"$T/pages.json"
check "a 3-page TIFF: indexed from page one, 3 pages" \
    jq -e '.status == "ok" and .description.pages == 3' "$T/pages.json"
check "huge files refused before decoding: reasons name the limit" \
    sh -c "jq -r '.[] | select(.path | test(\"/huge[.]\")) | .reason' '$T/errors.json' | grep -c -i limit | grep -qx 6"

# Skipped files: named in --log-json, counted by reason.
S=$T/skip
mkdir -p "$S/sub"
cp "$G/p.webp" "$S/ok.webp"
printf 'notes\n' >"$S/notes.txt"
printf 'notes\n' >"$S/sub/more.md"
printf '<svg/>' >"$S/logo.svg"
printf 'raw' >"$S/IMG_0001.CR2"
cp "$G/p.gif" "$S/.hidden.gif"
"$BIN" --db "$T/sdb" index --no-ocr --no-detect --log-json "$S" >"$T/skip.json" 2>/dev/null
check "skipping run exits 0" test $? -eq 0
for f in notes.txt sub/more.md logo.svg IMG_0001.CR2 .hidden.gif; do
    check "--log-json names skipped $f with a reason" jq -se --arg p "$S/$f" \
        'any(.[]; .event == "skipped" and .path == $p and (.reason | length > 0))' "$T/skip.json"
done
check "--log-json: no skipped event for the image" jq -se --arg p "$S/ok.webp" \
    'all(.[]; .event != "skipped" or .path != $p)' "$T/skip.json"
"$BIN" --db "$T/sdb" errors --skipped --json >"$T/skipped.json"
check "errors --skipped: 5 in all" jq -e '.total == 5' "$T/skipped.json"
cnt() { jq -r --arg r "$1" '[.reasons[] | select(.reason == $r) | .count] | add // 0' "$T/skipped.json"; }
check "errors --skipped: 2 not an image name ($(cnt 'not an image name'))" test "$(cnt 'not an image name')" = 2
check "errors --skipped: 2 image format not read ($(cnt 'image format not read'))" test "$(cnt 'image format not read')" = 2
check "errors --skipped: 1 hidden ($(cnt hidden))" test "$(cnt hidden)" = 1
check "errors --skipped: examples name the files" jq -e --arg p "$S/logo.svg" \
    'any(.reasons[].examples[]; .path == $p)' "$T/skipped.json"
"$BIN" --db "$T/sdb" errors --skipped >"$T/skipped.txt"
check "errors --skipped (text) leads with the total" grep -q '^5 skipped by the last index run' "$T/skipped.txt"
rm "$S/notes.txt"
"$BIN" --db "$T/sdb" index --no-ocr --no-detect --quiet >/dev/null 2>&1
"$BIN" --db "$T/sdb" errors --skipped --json >"$T/skipped2.json"
check "a later run replaces the counts (4 now)" jq -e '.total == 4' "$T/skipped2.json"

echo "$fails failed"
[ "$fails" -eq 0 ]
