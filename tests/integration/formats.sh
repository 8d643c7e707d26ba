#!/usr/bin/env bash
# labels: integration
# Issue 18, done when: a folder with one photo in each of HEIC, AVIF, WebP,
# GIF, TIFF and BMP, made here from the committed PNG with Debian's tools
# (heif-enc, cwebp, ImageMagick), is fully indexed; each copy is found by a
# search restricted to its extension (copies of one photo collapse into one
# result otherwise); the server serves a JPEG thumbnail of each; and each
# copy's description agrees with the PNG's: same domain, same objects,
# same size. A missing tool fails the test (scripts/install_deps.sh
# installs them).
set -u
BIN=${1:?usage: formats.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
PNG=$SRC/tests/fixtures/formats/photo.png
T=$(mktemp -d)
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

for tool in heif-enc cwebp convert identify jq curl; do
    check "tool $tool is installed" command -v "$tool"
done
[ "$fails" -eq 0 ] || { echo "$fails failed (install them: scripts/install_deps.sh)"; exit 1; }

D=$T/photos
mkdir -p "$D"
heif-enc -q 90 -o "$D/photo.heic" "$PNG" >"$T/tools.log" 2>&1
heif-enc -A -q 90 -o "$D/photo.avif" "$PNG" >>"$T/tools.log" 2>&1
cwebp -quiet -q 90 "$PNG" -o "$D/photo.webp" >>"$T/tools.log" 2>&1
convert "$PNG" "$D/photo.gif" >>"$T/tools.log" 2>&1
convert "$PNG" "$D/photo.tif" >>"$T/tools.log" 2>&1
convert "$PNG" "$D/photo.bmp" >>"$T/tools.log" 2>&1
FMTS="heic avif webp gif tif bmp"
for e in $FMTS; do
    check "made photo.$e ($(wc -c <"$D/photo.$e" 2>/dev/null || echo 0) bytes)" test -s "$D/photo.$e"
done

# The PNG's own description is the reference.
"$BIN" caption --json "$PNG" >"$T/ref.json" 2>"$T/ref.err"
check "the PNG is described" jq -e '.domain == "photo"' "$T/ref.json"
REF_OBJ=$(jq -c '[.objects.detections[].label] | unique' "$T/ref.json")
check "the PNG shows a person ($REF_OBJ)" jq -e 'any(.objects.detections[]; .label == "person")' "$T/ref.json"

"$BIN" --db "$T/db" index --log-json "$D" >"$T/index.json" 2>"$T/index.err"
rc=$?
check "index exits 0 (rc=$rc)" test $rc -eq 0
check "summary: 6 new, 0 failed" jq -se 'last | .new == 6 and .failed == 0' "$T/index.json"
"$BIN" --db "$T/db" stats --json >"$T/stats.json"
check "6 images, no errors" jq -e '.images == 6 and .errors == 0' "$T/stats.json"

want_fmt() { case $1 in tif) echo tiff ;; *) echo "$1" ;; esac; }
for e in $FMTS; do
    "$BIN" --db "$T/db" show --json "$D/photo.$e" >"$T/$e.json"
    f=$(want_fmt "$e")
    check "$e: stored as format $f" jq -e --arg f "$f" '.description.format == $f' "$T/$e.json"
    check "$e: same size as the PNG" jq -e --slurpfile r "$T/ref.json" \
        '.description.width == $r[0].width and .description.height == $r[0].height' "$T/$e.json"
    check "$e: same domain as the PNG" jq -e --slurpfile r "$T/ref.json" \
        '.description.domain == $r[0].domain' "$T/$e.json"
    obj=$(jq -c '[.description.objects.detections[].label] | unique' "$T/$e.json")
    check "$e: same objects as the PNG ($obj vs $REF_OBJ)" test "$obj" = "$REF_OBJ"
    "$BIN" --db "$T/db" search --json -k 3 "person ext:$e" >"$T/s_$e.json"
    check "$e: found by 'person ext:$e'" jq -e --arg p "$D/photo.$e" \
        '.count >= 1 and all(.results[]; .path == $p)' "$T/s_$e.json"
done
# extension spellings: heif/hif find .heic, tiff finds .tif; --ext as a flag
"$BIN" --db "$T/db" search --json "person ext:heif" >"$T/s_heif.json"
check "ext:heif finds the .heic" jq -e --arg p "$D/photo.heic" '.results[0].path == $p' "$T/s_heif.json"
"$BIN" --db "$T/db" search --json --ext tiff person >"$T/s_tiff.json"
check "--ext tiff finds the .tif" jq -e --arg p "$D/photo.tif" '.results[0].path == $p' "$T/s_tiff.json"

# High bit depths from a 16-bit PNG: a 10-bit HEIC and a 16-bit TIFF are
# reduced to 8 bits and described like the PNG. (Debian's aom asserts when
# heif-enc asks it for 10-bit AVIF, so AVIF stays 8-bit here.)
H=$T/deep
mkdir -p "$H"
convert "$PNG" -define png:bit-depth=16 "PNG48:$T/p16.png" >>"$T/tools.log" 2>&1
heif-enc -b 10 -q 90 -o "$H/p10.heic" "$T/p16.png" >>"$T/tools.log" 2>&1
convert "$T/p16.png" "$H/p16.tif" >>"$T/tools.log" 2>&1
"$BIN" --db "$T/db4" index --quiet "$H" >/dev/null 2>&1
for f in p10.heic:10 p16.tif:16; do
    "$BIN" --db "$T/db4" show --json "$H/${f%:*}" >"$T/deep.json"
    obj=$(jq -c '[.description.objects.detections[].label] | unique' "$T/deep.json")
    check "${f%:*}: bit depth ${f#*:} read, same domain and objects as the PNG ($obj)" \
        jq -e --arg o "$REF_OBJ" --argjson b "${f#*:}" --slurpfile r "$T/ref.json" \
        '.description.bit_depth == $b and .description.domain == $r[0].domain and
         ([.description.objects.detections[].label] | unique | tojson) == $o' "$T/deep.json"
done

# A name that lies: a WebP called .png is read as the WebP it is.
mkdir -p "$T/lies"
cp "$D/photo.webp" "$T/lies/really_webp.png"
"$BIN" --db "$T/db2" index --quiet "$T/lies" >/dev/null 2>&1
"$BIN" --db "$T/db2" show --json "$T/lies/really_webp.png" >"$T/lies.json"
check "a WebP named .png is indexed as webp" jq -e '.status == "ok" and .description.format == "webp"' "$T/lies.json"

# Thumbnails over HTTP for every format.
"$BIN" --db "$T/db" serve --port 0 2>"$T/serve.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
check "server starts" test -n "$PORT"
for e in $FMTS; do
    id=$(jq -r .id "$T/$e.json")
    code=$(curl -s -o "$T/thumb_$e" -w '%{http_code} %{content_type}' \
        "http://127.0.0.1:$PORT/images/$id/thumb")
    check "$e: thumbnail served ($code)" test "$code" = "200 image/jpeg"
    magic=$(head -c 3 "$T/thumb_$e" | od -An -tx1 | tr -d ' \n')
    check "$e: the thumbnail is a JPEG" test "$magic" = "ffd8ff"
    dims=$(identify -format '%wx%h' "$T/thumb_$e" 2>/dev/null)
    check "$e: thumbnail keeps the photo's shape, upright ($dims)" \
        sh -c "w=\${1%x*}; h=\${1#*x}; [ \"\$h\" -gt \"\$w\" ]" _ "$dims"
done
kill -TERM "$SRV_PID"
wait "$SRV_PID"
SRV_PID=

# Turned files (the fuzz seeds: stored landscape, shown portrait): a TIFF
# with Orientation 6, a WebP with EXIF orientation 6, a HEIC rotated by
# irot whose EXIF says 6 as well. Each is described and thumbnailed
# upright, turned once (twice would show it landscape again).
R=$T/turned
mkdir -p "$R"
cp "$SRC/tests/fuzz/corpus/fuzz_tiff/orient6.tif" "$R/t.tif"
cp "$SRC/tests/fuzz/corpus/fuzz_webp/exif_orient6.webp" "$R/w.webp"
cp "$SRC/tests/fuzz/corpus/fuzz_heif/rot6_exif6.heic" "$R/h.heic"
"$BIN" --db "$T/db3" index --quiet --no-ocr --no-detect "$R" >/dev/null 2>&1
check "turned files indexed (rc=$?)" test $? -eq 0
"$BIN" --db "$T/db3" serve --port 0 2>"$T/serve3.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve3.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
check "server starts on the turned files" test -n "$PORT"
for f in t.tif w.webp h.heic; do
    "$BIN" --db "$T/db3" show --json "$R/$f" >"$T/turned.json"
    check "$f: described upright (portrait)" jq -e '.description.height > .description.width' "$T/turned.json"
    id=$(jq -r .id "$T/turned.json")
    curl -s -o "$T/turned_thumb" "http://127.0.0.1:$PORT/images/$id/thumb"
    dims=$(identify -format '%wx%h' "$T/turned_thumb" 2>/dev/null)
    check "$f: thumbnail upright, turned once ($dims)" \
        sh -c "w=\${1%x*}; h=\${1#*x}; [ -n \"\$w\" ] && [ \"\$h\" -gt \"\$w\" ]" _ "$dims"
done
kill -TERM "$SRV_PID"
wait "$SRV_PID"
SRV_PID=

echo "$fails failed"
[ "$fails" -eq 0 ]
