#!/usr/bin/env bash
# labels: integration
# `omnidex serve`: originals (/images/{id}/file: the indexed bytes only,
# media type, ETag = content hash, 304, single byte ranges (If-Range by the
# strong comparison: a weak tag is no match), 410 once the
# file holds other content, 404 once it is gone), cache headers of
# thumbnails (immutable when the URL's v= names the content), the
# thumb_url/file_url of results, and /similar/{id} and the CLI's search
# --like (a resized JPEG copy of a chart ranks first, the example itself is
# left out).
set -u
BIN=${1:?usage: srv_file.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
SHRINK=${ODX_BUILD_DIR:?}/server/test_srv_file
export OMP_THREAD_LIMIT=1 OMP_WAIT_POLICY=PASSIVE
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

mkdir -p "$T/imgs"
for f in bar_rainfall line_visitors table_cities pie_fruit_zh document_getting_started; do
    cp "$SRC/samples/$f.png" "$T/imgs/"
done
# a near-duplicate: the bar chart at 60% of its long side, re-encoded as JPEG
W=$(file "$SRC/samples/bar_rainfall.png" | sed -n 's/.*PNG image data, \([0-9]*\) x \([0-9]*\).*/\1 \2/p' |
    awk '{ print int(($1 > $2 ? $1 : $2) * 0.6) }')
"$SHRINK" --shrink "$SRC/samples/bar_rainfall.png" "$T/imgs/bar_copy_small.jpg" "${W:-480}"
check "made the shrunk JPEG copy (long side ${W:-480})" test -s "$T/imgs/bar_copy_small.jpg"
printf 'not an image at all' >"$T/imgs/broken.png"
# a file name that is not UTF-8: the original is still found by its bytes
ODD="$T/imgs/odd_$(printf '\377\376')_name.png"
cp "$SRC/samples/document_getting_started.png" "$ODD"
"$BIN" --db "$T/db" index --quiet "$T/imgs" >"$T/index.out" 2>&1
check "index exits 0 or 1 (one broken file)" test $? -le 1

id_of() { "$BIN" --db "$T/db" show --json "$T/imgs/$1" | jq -r .id; }
hash_of() { "$BIN" --db "$T/db" show --json "$T/imgs/$1" | jq -r .hash; }
BAR=$(id_of bar_rainfall.png)
BARH=$(hash_of bar_rainfall.png)
COPY=$(id_of bar_copy_small.jpg)
LINE=$(id_of line_visitors.png)
BROKEN=$(id_of broken.png)
ODDID=$("$BIN" --db "$T/db" show --json "$ODD" | jq -r .id)
check "ids known ($BAR, $COPY, $LINE, $BROKEN)" test -n "$BAR" -a -n "$COPY" -a -n "$LINE" -a -n "$BROKEN"

# the same by the CLI: search --like PATH|#ID
"$BIN" --db "$T/db" search --like "$T/imgs/bar_rainfall.png" -k 3 --json >"$T/like.json"
check "search --like PATH: the shrunk copy first, the example left out" \
    jq -e --arg c "$T/imgs/bar_copy_small.jpg" --arg o "$T/imgs/bar_rainfall.png" \
    '.results[0].path == $c and .results[0].matched == "near-identical picture" and all(.results[]; .path != $o) and .count <= 3' "$T/like.json"
"$BIN" --db "$T/db" search --like "#$BAR" -k 1 >"$T/like.txt"
check "search --like #ID prints one line" sh -c "test \$(wc -l <'$T/like.txt') -eq 1 && grep -q bar_copy_small.jpg '$T/like.txt'"
"$BIN" --db "$T/db" search --like "$T/imgs/nowhere.png" >/dev/null 2>&1
check "search --like a path that is neither indexed nor a file exits 5" test $? -eq 5
# a file outside the index is described on the fly: the bar chart at 70%
mkdir -p "$T/outside"
"$SHRINK" --shrink "$SRC/samples/bar_rainfall.png" "$T/outside/bar70.jpg" \
    "$(awk -v w="${W:-480}" 'BEGIN { print int(w / 0.6 * 0.7) }')"
"$BIN" --db "$T/db" search --like "$T/outside/bar70.jpg" -k 3 --json >"$T/fly.json"
check "search --like a file not indexed: the bar chart and its copy first, near-identical" \
    jq -e --arg o "$T/imgs/bar_rainfall.png" --arg c "$T/imgs/bar_copy_small.jpg" \
    '([.results[0].path, .results[1].path] | sort) == ([$o, $c] | sort) and all(.results[0:2][]; .matched == "near-identical picture")' "$T/fly.json"
check "  ... and that file stays out of the index" sh -c "! '$BIN' --db '$T/db' show '$T/outside/bar70.jpg' >/dev/null 2>&1"
"$BIN" --db "$T/db" search --like "#$BAR" rainfall >/dev/null 2>&1
check "search --like with query words is a usage error" test $? -eq 2

TOKEN=file-t0ken
"$BIN" --db "$T/db" serve --port 0 --token "$TOKEN" 2>"$T/serve.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
check "server printed its port" test -n "$PORT"
[ -n "$PORT" ] || { cat "$T/serve.err"; exit 1; }
URL=http://127.0.0.1:$PORT
AUTH="Authorization: Bearer $TOKEN"
req() { # req WHAT CODE CURL-ARGS...: body in $T/body, headers in $T/hdr
    local what=$1 want=$2
    shift 2
    local got
    rm -f "$T/body" "$T/hdr"
    got=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 60 "$@")
    check "$what -> $want (got $got)" test "$got" = "$want"
}
hdr() { tr -d '\r' <"$T/hdr" | sed -n "s/^$1: //Ip" | head -1; }
err_is() { jq -e --arg c "$1" '.error == $c and (.message | length > 0)' "$T/body" >/dev/null; }
jqe() { jq -e "$@" >/dev/null; }

# ---- results carry their URLs
req "search bar chart" 200 -H "$AUTH" "$URL/search?q=bar%20chart&k=3"
check "every result has thumb_url and file_url naming its id and content" \
    jqe 'all(.results[]; .id as $i | (.thumb_url | test("^/images/\($i)/thumb\\?v=[0-9a-f]{16}$")) and
                          (.file_url | test("^/images/\($i)/file\\?v=[0-9a-f]{16}$")))' "$T/body"
FILE_URL=$(jq -r --argjson id "$BAR" '.results[] | select(.id == $id) | .file_url' "$T/body")
THUMB_URL=$(jq -r --argjson id "$BAR" '.results[] | select(.id == $id) | .thumb_url' "$T/body")
check "the bar chart's URLs carry its hash (${FILE_URL})" test "${FILE_URL#*v=}" = "${BARH:0:16}"

# ---- the original
req "file without the token" 401 "$URL/images/$BAR/file"
req "file" 200 -H "$AUTH" "$URL$FILE_URL"
check "  ... the very bytes indexed" cmp -s "$T/body" "$T/imgs/bar_rainfall.png"
check "  ... Content-Type image/png" test "$(hdr content-type)" = "image/png"
check "  ... ETag is the content hash" test "$(hdr etag)" = "\"$BARH\""
check "  ... immutable (v= names the content)" sh -c "echo '$(hdr cache-control)' | grep -q immutable"
check "  ... Accept-Ranges bytes" test "$(hdr accept-ranges)" = "bytes"
check "  ... Content-Disposition names the file" sh -c "echo '$(hdr content-disposition)' | grep -q 'filename=\"bar_rainfall.png\"'"
SIZE=$(stat -c %s "$T/imgs/bar_rainfall.png")
req "file without v=" 200 -H "$AUTH" "$URL/images/$BAR/file"
check "  ... revalidated, not immutable" test "$(hdr cache-control)" = "private, no-cache"
req "file with a v= of other content" 200 -H "$AUTH" "$URL/images/$BAR/file?v=0000000000000000"
check "  ... not immutable" test "$(hdr cache-control)" = "private, no-cache"
req "HEAD file" 200 -I -H "$AUTH" "$URL/images/$BAR/file"
check "  ... Content-Length is the file's size ($SIZE)" test "$(hdr content-length)" = "$SIZE"
req "If-None-Match the hash" 304 -H "$AUTH" -H "If-None-Match: \"$BARH\"" "$URL/images/$BAR/file"
check "  ... no body" test ! -s "$T/body"
req "If-None-Match another tag" 200 -H "$AUTH" -H 'If-None-Match: "abc"' "$URL/images/$BAR/file"
req "Range 0-99" 206 -H "$AUTH" -H "Range: bytes=0-99" "$URL/images/$BAR/file"
check "  ... status line says Partial Content" grep -q '^HTTP/1.1 206 Partial Content' "$T/hdr"
check "  ... the first 100 bytes" sh -c "head -c 100 '$T/imgs/bar_rainfall.png' | cmp -s - '$T/body'"
check "  ... Content-Range bytes 0-99/$SIZE" test "$(hdr content-range)" = "bytes 0-99/$SIZE"
req "Range -10" 206 -H "$AUTH" -H "Range: bytes=-10" "$URL/images/$BAR/file"
check "  ... the last 10 bytes" sh -c "tail -c 10 '$T/imgs/bar_rainfall.png' | cmp -s - '$T/body'"
req "Range past the end" 416 -H "$AUTH" -H "Range: bytes=$SIZE-" "$URL/images/$BAR/file"
check "  ... Content-Range bytes */$SIZE and a JSON error" \
    sh -c "test '$(hdr content-range)' = 'bytes */$SIZE' && jq -e '.error == \"range_not_satisfiable\"' '$T/body' >/dev/null"
req "Range with If-Range of other content" 200 -H "$AUTH" -H "Range: bytes=0-9" -H 'If-Range: "00"' "$URL/images/$BAR/file"
check "  ... the whole file" test "$(wc -c <"$T/body")" = "$SIZE"
req "Range with If-Range of this content" 206 -H "$AUTH" -H "Range: bytes=0-9" -H "If-Range: \"$BARH\"" "$URL/images/$BAR/file"
# If-Range compares strongly (RFC 9110 13.1.5): this content's tag as weak,
# in a list or "*" is not a match, so the whole file comes
req "Range with If-Range of this content as a weak tag" 200 -H "$AUTH" -H "Range: bytes=0-9" -H "If-Range: W/\"$BARH\"" "$URL/images/$BAR/file"
check "  ... the whole file" test "$(wc -c <"$T/body")" = "$SIZE"
req "Range with If-Range of a list holding this content" 200 -H "$AUTH" -H "Range: bytes=0-9" -H "If-Range: \"00\", \"$BARH\"" "$URL/images/$BAR/file"
req "Range with If-Range *" 200 -H "$AUTH" -H "Range: bytes=0-9" -H "If-Range: *" "$URL/images/$BAR/file"
req "two ranges: the whole file" 200 -H "$AUTH" -H "Range: bytes=0-1,4-5" "$URL/images/$BAR/file"
req "JPEG original" 200 -H "$AUTH" "$URL/images/$COPY/file"
check "  ... Content-Type image/jpeg" test "$(hdr content-type)" = "image/jpeg"
req "original with a name that is not UTF-8" 200 -H "$AUTH" "$URL/images/$ODDID/file"
check "  ... its bytes" cmp -s "$T/body" "$ODD"
check "  ... named with %FF%FE in filename*" grep -qF "filename*=UTF-8''odd_%FF%FE_name.png" "$T/hdr"
req "file of a broken image" 422 -H "$AUTH" "$URL/images/$BROKEN/file"
req "file of an unknown id" 404 -H "$AUTH" "$URL/images/999999/file"
req "file of a bad id" 400 -H "$AUTH" "$URL/images/x1/file"

# ---- thumbnails
req "thumbnail by its URL" 200 -H "$AUTH" "$URL$THUMB_URL"
check "  ... JPEG, immutable, with an ETag" \
    sh -c "test '$(hdr content-type)' = image/jpeg && echo '$(hdr cache-control)' | grep -q immutable && test -n '$(hdr etag)'"
ETAG=$(hdr etag)
req "thumbnail If-None-Match" 304 -H "$AUTH" -H "If-None-Match: $ETAG" "$URL$THUMB_URL"
check "  ... still immutable" sh -c "echo '$(hdr cache-control)' | grep -q immutable"
req "thumbnail without v=" 200 -H "$AUTH" "$URL/images/$BAR/thumb"
check "  ... revalidated" test "$(hdr cache-control)" = "private, no-cache"

# ---- similar
req "similar to the bar chart" 200 -H "$AUTH" "$URL/similar/$BAR?k=4"
check "  ... names the example, count = results, <= k" \
    jqe --argjson id "$BAR" '.similar_to == $id and .count == (.results | length) and .count <= 4 and .count > 0' "$T/body"
check "  ... the shrunk JPEG copy ranks first, as a near-identical picture" \
    jqe --argjson c "$COPY" '.results[0].id == $c and .results[0].matched == "near-identical picture"' "$T/body"
check "  ... the example itself is left out" jqe --argjson id "$BAR" 'all(.results[]; .id != $id)' "$T/body"
check "  ... scores in 0..1, best first" jqe '[.results[].score] | (all(. >= 0 and . <= 1)) and (. == (sort | reverse))' "$T/body"
check "  ... results carry thumb_url and file_url" jqe 'all(.results[]; .thumb_url and .file_url)' "$T/body"
req "similar k=1" 200 -H "$AUTH" "$URL/similar/$LINE?k=1"
check "  ... one result" jqe '.count == 1' "$T/body"
req "similar with a domain filter" 200 -H "$AUTH" "$URL/similar/$LINE?domain=table"
check "  ... only tables" jqe '.count > 0 and all(.results[]; .domain == "table")' "$T/body"
req "similar with a bad filter" 400 -H "$AUTH" "$URL/similar/$LINE?domain=nonsense"
req "similar to an unknown id" 404 -H "$AUTH" "$URL/similar/999999"
check "  ... a not_found error" err_is not_found
req "similar to a bad id" 400 -H "$AUTH" "$URL/similar/abc"
req "similar to a broken image" 422 -H "$AUTH" "$URL/similar/$BROKEN"

# ---- the file changes under the index, then goes
# same size, one byte other: refused by the hash (a size change is refused
# before anything is read)
cp "$T/imgs/line_visitors.png" "$T/line_orig.png"
printf '\377' | dd of="$T/imgs/line_visitors.png" bs=1 seek=200 conv=notrunc 2>/dev/null
check "  (the flipped copy keeps the size)" test "$(stat -c %s "$T/imgs/line_visitors.png")" = "$(stat -c %s "$T/line_orig.png")"
req "file with one byte changed" 410 -H "$AUTH" "$URL/images/$LINE/file"
cp "$T/line_orig.png" "$T/imgs/line_visitors.png"
req "file restored" 200 -H "$AUTH" "$URL/images/$LINE/file"
cp "$SRC/samples/scatter_height_weight.png" "$T/imgs/line_visitors.png"
req "file whose content changed" 410 -H "$AUTH" "$URL/images/$LINE/file"
check "  ... a gone error that says to index again" sh -c "jq -e '.error == \"gone\" and (.message | test(\"omnidex index\"))' '$T/body' >/dev/null"
check "  ... not cached" test "$(hdr cache-control)" = "no-store"
rm "$T/imgs/line_visitors.png"
req "file that is gone" 404 -H "$AUTH" "$URL/images/$LINE/file"
check "  ... a not_found error" err_is not_found

kill -TERM "$SRV_PID"
wait "$SRV_PID"
check "server exits 0 on SIGTERM" test $? -eq 0
SRV_PID=
echo "$fails failed"
test "$fails" -eq 0
