#!/usr/bin/env bash
# labels: integration
# Thumbnails cannot starve search: six parallel /images/{id}/thumb requests
# for a progressive JPEG with 88 scans (expensive, under the 100-scan
# limit) while /search is asked (before: six such requests stalled search
# for 30 s, every time, nothing was cached). Then: the cache (content hash)
# answers the next request, ETag/304, a full thumbnail queue answers 503
# with Retry-After, and a file replaced by a symlink to other content is
# refused with 409 instead of being thumbnailed. A file whose name is not
# UTF-8 is thumbnailed (the server opened the name's U+FFFD-repaired JSON
# form and answered 404 before it read the typed record), and a file that
# failed to index gives 422 (it was a 500: the record lacked a hash).
set -u
BIN=${1:?usage: srv_thumb.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
GEN=${ODX_BUILD_DIR:?}/server/test_srv_thumb
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
cp "$SRC/samples/bar_rainfall.png" "$SRC/samples/table_cities.png" "$T/imgs/"
cp "$SRC/samples/line_visitors.png" "$T/imgs/victim.png"
cp "$SRC/samples/pie_fruit_zh.png" "$T/imgs/caf$(printf '\351').png" # Latin-1 e-acute
printf 'not a png' >"$T/imgs/broken.png"
"$GEN" --write-progressive "$T/imgs/scans.jpg" 4000 3000 29
check "wrote the 88-scan progressive JPEG ($(wc -c <"$T/imgs/scans.jpg") bytes)" test -s "$T/imgs/scans.jpg"
"$BIN" --db "$T/db" index --quiet "$T/imgs" >"$T/index.out" 2>&1
check "index exits 1 (the broken file)" test $? -eq 1

start() {
    "$BIN" --db "$T/db" serve --port 0 "$@" 2>"$T/serve.err" &
    SRV_PID=$!
    PORT=
    for _ in $(seq 1 300); do
        PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
        [ -n "$PORT" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    test -n "$PORT"
}
stop() {
    kill -TERM "$SRV_PID"
    wait "$SRV_PID"
    SRV_PID=
}
id_of() { # id of the image whose path ends in $1
    "$BIN" --db "$T/db" show --json "$T/imgs/$1" | jq -r .id
}
SCANS=$(id_of scans.jpg)
VICTIM=$(id_of victim.png)
LATIN1=$(id_of "caf$(printf '\351').png")
BROKEN=$(id_of broken.png)
check "ids known ($SCANS, $VICTIM, $LATIN1, $BROKEN)" test -n "$SCANS" -a -n "$VICTIM" -a -n "$LATIN1" -a -n "$BROKEN"

check "server starts (2 thumbnail threads)" start --threads 2 --thumb-threads 2
URL=http://127.0.0.1:$PORT

# six thumbnails at once, and searches meanwhile
mkdir -p "$T/par"
for i in 1 2 3 4 5 6; do
    curl -s -o "$T/par/$i.body" -D "$T/par/$i.hdr" -w '%{http_code} %{time_total}\n' \
        --max-time 120 "$URL/images/$SCANS/thumb" >"$T/par/$i.code" &
done
sleep 0.2
worst=0
searches_ok=0
for i in 1 2 3 4 5; do
    r=$(curl -s -o "$T/search.body" -w '%{http_code} %{time_total}' --max-time 60 \
        "$URL/search?q=rainfall&k=3")
    code=${r% *}
    t=${r#* }
    [ "$code" = 200 ] && jq -e '.results | length > 0' "$T/search.body" >/dev/null && searches_ok=$((searches_ok + 1))
    worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
done
wait_all() { for j in $(jobs -p); do [ "$j" = "$SRV_PID" ] || wait "$j"; done; }
wait_all
echo "     thumbnails: $(cat "$T"/par/*.code | tr '\n' ' ')"
check "5 searches answered during the thumbnail work (slowest $worst s; bound 10 s)" \
    sh -c "test $searches_ok -eq 5 && awk -v w=$worst 'BEGIN { exit !(w < 10) }'"
n200=$(cat "$T"/par/*.code | grep -c '^200 ')
n_ok=$(cat "$T"/par/*.code | grep -c '^\(200\|503\) ')
check "the six thumbnail requests got 200 (or 503 when queued out): $n200 x 200" \
    sh -c "test $n_ok -eq 6 && test $n200 -ge 1"
good=$(grep -l '^200 ' "$T"/par/*.code | head -1)
good=${good%.code}
check "  ... a JPEG" test "$(head -c 3 "$good.body" | od -An -tx1 | tr -d ' ')" = ffd8ff

# the cache and the ETag
curl -s -o "$T/again.body" -D "$T/again.hdr" --max-time 60 "$URL/images/$SCANS/thumb"
check "the next request is a cache hit" grep -qi '^x-thumb-cache: hit' "$T/again.hdr"
check "  ... with the same bytes" cmp -s "$T/again.body" "$good.body"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$T/again.hdr")
check "  ... and an ETag ($ETAG)" test -n "$ETAG"
code=$(curl -s -o "$T/304.body" -w '%{http_code}' -H "If-None-Match: $ETAG" "$URL/images/$SCANS/thumb")
check "If-None-Match with it gives 304 (got $code)" test "$code" = 304
check "  ... without a body" test ! -s "$T/304.body"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$URL/images/$SCANS/thumb")
check "another ETag gives 200 (got $code)" test "$code" = 200
code=$(curl -s -o "$T/latin1.body" -w '%{http_code}' --max-time 60 "$URL/images/$LATIN1/thumb")
check "a file named in Latin-1 (not UTF-8) is thumbnailed (got $code)" test "$code" = 200
check "  ... a JPEG" test "$(head -c 3 "$T/latin1.body" | od -An -tx1 | tr -d ' ')" = ffd8ff
code=$(curl -s -o "$T/broken.body" -w '%{http_code}' --max-time 60 "$URL/images/$BROKEN/thumb")
check "a file that failed to index gives 422 (got $code)" test "$code" = 422

# touched (same bytes, new mtime): still served, the hash decides
curl -s -o "$T/v1.body" "$URL/images/$VICTIM/thumb"
touch -d '2001-01-01' "$T/imgs/victim.png"
code=$(curl -s -o "$T/v2.body" -w '%{http_code}' "$URL/images/$VICTIM/thumb")
check "a touched file with the same content is still thumbnailed (got $code)" test "$code" = 200
# replaced by a symlink to other content: refused
rm "$T/imgs/victim.png"
ln -s "$T/imgs/table_cities.png" "$T/imgs/victim.png"
code=$(curl -s -o "$T/sym.body" -w '%{http_code}' "$URL/images/$VICTIM/thumb")
check "a symlink replacing the indexed file gives 409 (got $code)" test "$code" = 409
check "  ... as a JSON conflict error" jq -e '.error == "conflict" and (.message | length > 0)' "$T/sym.body"
# and a cached thumbnail is not served for it either
ln -sf /etc/hostname "$T/imgs/victim.png"
code=$(curl -s -o "$T/sym2.body" -w '%{http_code}' "$URL/images/$VICTIM/thumb")
check "a symlink to a non-image gives 409 too (got $code)" test "$code" = 409
stop

# a full thumbnail queue: 503 + Retry-After, JSON (no cache, one thread)
check "server starts (1 thumbnail thread, no cache)" start --thumb-threads 1 --thumb-cache 0
URL=http://127.0.0.1:$PORT
mkdir -p "$T/q"
for i in $(seq 1 16); do
    curl -s -o "$T/q/$i.body" -D "$T/q/$i.hdr" -w '%{http_code}\n' --max-time 120 \
        "$URL/images/$SCANS/thumb" >"$T/q/$i.code" &
done
wait_all
n503=$(cat "$T"/q/*.code | grep -c '^503$')
nall=$(cat "$T"/q/*.code | grep -c '^\(200\|503\)$')
echo "     16 requests: $(sort "$T"/q/*.code | uniq -c | tr -s ' \n' ' ')"
check "16 at once with a queue of 4: some get 503 ($n503), the rest 200" \
    sh -c "test $nall -eq 16 && test $n503 -ge 1"
f=$(grep -l '^503$' "$T"/q/*.code | head -1)
f=${f%.code}
if [ -n "$f" ]; then
    check "  ... 503 carries Retry-After" grep -qi '^retry-after: [0-9]' "$f.hdr"
    check "  ... and a JSON unavailable error" jq -e '.error == "unavailable"' "$f.body"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "healthy after (got $code)" test "$code" = 200
stop

echo "$fails failed"
test $fails -eq 0
