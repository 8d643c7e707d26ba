#!/usr/bin/env bash
# labels: integration
# `omnidex serve` over HTTP with curl + jq: every endpoint, bad parameters,
# the bearer token, oversized requests, 50 concurrent clients, and a search
# that sees an image indexed by another process after the server started.
set -u
BIN=${1:?usage: srv_api.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
export OMP_THREAD_LIMIT=1 OMP_WAIT_POLICY=PASSIVE
T=$(mktemp -d)
SRV_PID=
cleanup() {
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
check() { # check "what" command...
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

DB=$T/db
mkdir -p "$T/imgs"
# index all samples but one; the held-back one arrives while the server runs
LATE=poster_book_fair.png
for f in "$SRC"/samples/*.png; do
    [ "$(basename "$f")" = "$LATE" ] || cp "$f" "$T/imgs/"
done
# a file name that is not UTF-8: JSON bodies must stay UTF-8 all the same
cp "$SRC/samples/line_visitors.png" "$T/imgs/odd_$(printf '\377\376')_name.png"
N0=$(ls "$T/imgs" | wc -l)
"$BIN" --db "$DB" index --quiet "$T/imgs" >"$T/index1.out" 2>&1
check "first index run exits 0" test $? -eq 0

# --help is truthful about the options; bad options are usage errors
"$BIN" --db "$DB" serve --help >"$T/help.txt"
check "serve --help documents --port/--listen/--token/--threads" \
    sh -c "grep -q -- --port '$T/help.txt' && grep -q -- --listen '$T/help.txt' && grep -q -- --token '$T/help.txt' && grep -q -- --threads '$T/help.txt'"
"$BIN" --db "$DB" serve --port 99999 >/dev/null 2>&1
check "serve --port 99999 is a usage error" test $? -eq 2
"$BIN" --db "$DB" serve --bogus >/dev/null 2>&1
check "serve --bogus is a usage error" test $? -eq 2
"$BIN" --db "$DB" serve --listen not-an-address --port 0 >/dev/null 2>&1
check "serve --listen with a bad address fails" test $? -ne 0

TOKEN=s3cret-t0ken
"$BIN" --db "$DB" serve --port 0 --threads 4 --token "$TOKEN" 2>"$T/serve.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
check "server printed its port" test -n "$PORT"
if [ -z "$PORT" ]; then
    cat "$T/serve.err"
    echo "$fails failed"
    exit 1
fi
URL=http://127.0.0.1:$PORT
timeout 20 "$BIN" --db "$DB" serve --port "$PORT" >/dev/null 2>"$T/busy.err"
rc=$?
check "a port in use is a fatal error (rc=$rc)" test $rc -eq 3
AUTH="Authorization: Bearer $TOKEN"

# req NAME CODE CURL-ARGS...: body in $T/body, headers in $T/hdr
req() {
    local what=$1 want=$2
    shift 2
    local got
    got=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 60 "$@")
    check "$what -> $want (got $got)" test "$got" = "$want"
}
err_is() { # the body is an error object with this code and a message
    jq -e --arg c "$1" '.error == $c and (.message | type == "string" and length > 0)' "$T/body" >/dev/null
}
ctype_is() { grep -qi "^content-type: $1" "$T/hdr"; }
jqe() { jq -e "$@" >/dev/null; }

req "healthz needs no token" 200 "$URL/healthz"
check "healthz body" jqe '.status == "ok"' "$T/body"
check "healthz is JSON UTF-8" ctype_is "application/json; charset=utf-8"
req "HEAD healthz" 200 -I "$URL/healthz"

req "stats without token" 401 "$URL/stats"
check "401 body is an unauthorized error" err_is unauthorized
check "401 carries WWW-Authenticate" grep -qi '^www-authenticate: Bearer' "$T/hdr"
req "stats with a wrong token" 401 -H "Authorization: Bearer wrong" "$URL/stats"
req "stats with a longer token" 401 -H "Authorization: Bearer ${TOKEN}x" "$URL/stats"
req "search without token" 401 "$URL/search?q=chart"
req "stats with the token" 200 -H "$AUTH" "$URL/stats"
check "stats counts the first batch ($N0 images)" jqe --argjson n "$N0" '.images == $n' "$T/body"

req "search bar chart" 200 -H "$AUTH" "$URL/search?q=bar%20chart&k=3"
check "search is JSON UTF-8" ctype_is "application/json; charset=utf-8"
check "search echoes the query and returns <= k results" \
    jqe '.query == "bar chart" and (.results | length) <= 3 and .count == (.results | length)' "$T/body"
check "bar chart is the first result" jqe '.results[0].path | endswith("bar_rainfall.png")' "$T/body"
check "scores within 0..1" jqe 'all(.results[]; .score >= 0 and .score <= 1)' "$T/body"
ID=$(jq -r '.results[0].id' "$T/body")

req "Chinese query" 200 -G -H "$AUTH" --data-urlencode "q=饼图" --data-urlencode "k=3" "$URL/search"
check "饼图 finds the pie chart" jqe '[.results[].path] | any(endswith("pie_fruit_zh.png"))' "$T/body"
check "the query comes back as UTF-8 text" jqe '.query == "饼图"' "$T/body"

req "search that lists the odd file name" 200 -H "$AUTH" "$URL/search?q=visitors&k=10&all=1"
check "  ... the body is valid UTF-8 JSON" sh -c "iconv -f UTF-8 -t UTF-8 '$T/body' >/dev/null 2>&1 && jq -e '[.results[].path] | any(contains(\"odd_\"))' '$T/body' >/dev/null"
req "web UI page" 200 "$URL/"
check "  ... is HTML that calls the API" sh -c "grep -qi '^content-type: text/html' '$T/hdr' && grep -q 'search?' '$T/body'"
req "domain filter" 200 -H "$AUTH" "$URL/search?q=visitors&domain=chart&k=5"
check "domain filter keeps only charts" jqe '(.results | length) > 0 and all(.results[]; .domain == "chart")' "$T/body"
req "explain" 200 -H "$AUTH" "$URL/search?q=rainfall&explain=1&k=2"
check "explain fills explain" jqe '.results[0].explain != null' "$T/body"

req "context markdown" 200 -H "$AUTH" "$URL/context?q=rainfall&max_chars=3000"
check "context is Markdown" ctype_is "text/markdown; charset=utf-8"
check "context cites by number and lists the bar chart" \
    sh -c "grep -q 'Cite' '$T/body' && grep -q bar_rainfall '$T/body'"
check "context within max_chars" test "$(wc -c <"$T/body")" -le 3000
req "context json" 200 -H "$AUTH" "$URL/context?q=rainfall&format=json&k=2"
check "context json parses" jqe 'type == "object" or type == "array"' "$T/body"

req "image metadata" 200 -H "$AUTH" "$URL/images/$ID"
check "image metadata has the path and id" jqe --argjson id "$ID" '.id == $id and (.path | endswith("bar_rainfall.png"))' "$T/body"
req "unknown image id" 404 -H "$AUTH" "$URL/images/987654321"
check "404 body is a not_found error" err_is not_found
req "non-numeric image id" 400 -H "$AUTH" "$URL/images/abc"
req "thumbnail" 200 -H "$AUTH" "$URL/images/$ID/thumb"
check "thumbnail is a JPEG" sh -c "ctype_is() { grep -qi \"^content-type: \$1\" '$T/hdr'; }; ctype_is image/jpeg && test \"\$(head -c 3 '$T/body' | od -An -tx1 | tr -d ' ')\" = ffd8ff"
check "thumbnail is small" test "$(wc -c <"$T/body")" -lt 65536
req "thumbnail of an unknown id" 404 -H "$AUTH" "$URL/images/987654321/thumb"
req "unknown sub-resource" 404 -H "$AUTH" "$URL/images/$ID/full"
req "unknown endpoint" 404 -H "$AUTH" "$URL/nope"
check "unknown endpoint gives a JSON error" err_is not_found

# bad parameters
for bad in "k=0&q=x" "k=abc&q=x" "k=1001&q=x" "k=-1&q=x" "q=x&domain=spaceship" "k=3" \
    "q=x&lang=fr" "q=x&after=2024-13-01" "q=x&min_score=2" "q=x&all=maybe" "q=%FF%FE" \
    "q=domain:spaceship%20x"; do
    req "search?$bad" 400 -H "$AUTH" "$URL/search?$bad"
    check "  ... is a bad_request error" err_is bad_request
done
req "context with a bad max_chars" 400 -H "$AUTH" "$URL/context?q=x&max_chars=lots"
req "context with a bad format" 400 -H "$AUTH" "$URL/context?q=x&format=xml"
req "context without q" 400 -H "$AUTH" "$URL/context"

# oversized requests and other methods
LONGQ=$(head -c 3000 /dev/zero | tr '\0' a)
req "q over 2048 bytes" 414 -H "$AUTH" "$URL/search?q=$LONGQ"
check "  ... is a too_large error" err_is too_large
HUGE=$(head -c 200000 /dev/zero | tr '\0' b)
# raw over bash's /dev/tcp: the URL is over what one curl argument may hold.
# The server answers before reading it all and closes; the unread rest can
# make the kernel reset the connection before the answer is read, so try a
# few times.
code=
for _ in 1 2 3 4 5; do
    code=$( (exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
        printf 'GET /search?q=%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
            "$HUGE" "$TOKEN" >&3 2>/dev/null
        timeout 30 head -n 1 <&3) 2>/dev/null | awk '{print $2}')
    [ -n "$code" ] && break
done
check "a 200 KB URL is refused (got $code)" sh -c "test '$code' = 414 || test '$code' = 431 || test '$code' = 413"
req "POST is not allowed" 405 -X POST -H "$AUTH" -d 'q=x' "$URL/search"
check "  ... is a method_not_allowed error" err_is method_not_allowed
check "  ... and says which are" grep -qi '^allow: GET, HEAD' "$T/hdr"
req "PUT is not allowed" 405 -X PUT -H "$AUTH" "$URL/stats"
head -c 200000 /dev/zero | tr '\0' c >"$T/big.body"
req "a 200 KB POST body" 413 -H "$AUTH" -H 'Expect:' --data-binary "@$T/big.body" "$URL/search"
check "  ... is a too_large error" err_is too_large
req "a 200 KB body on GET" 413 -X GET -H "$AUTH" -H 'Expect:' --data-binary "@$T/big.body" "$URL/search?q=x"
req "server still healthy" 200 "$URL/healthz"

# 50 concurrent clients
mkdir -p "$T/conc"
qs=("bar%20chart" "%E9%A5%BC%E5%9B%BE" "table%20of%20cities" "line%20chart%20visitors" "scatter")
for i in $(seq 1 50); do
    case $((i % 5)) in
    0) path="/stats" ;;
    1) path="/context?q=${qs[$((i % 5))]}&max_chars=2000" ;;
    *) path="/search?q=${qs[$((i % 5))]}&k=5" ;;
    esac
    curl -s -o "$T/conc/$i.body" -w '%{http_code}\n' --max-time 60 -H "$AUTH" "$URL$path" \
        >"$T/conc/$i.code" &
done
wait_start=$(date +%s)
for j in $(jobs -p); do
    [ "$j" = "$SRV_PID" ] || wait "$j"
done
ok=$(cat "$T/conc"/*.code | grep -c '^200$')
check "50 concurrent requests all 200 (got $ok in $(($(date +%s) - wait_start)) s)" test "$ok" -eq 50
bad=0
for i in $(seq 1 50); do
    [ $((i % 5)) = 1 ] && continue
    jq -e . "$T/conc/$i.body" >/dev/null 2>&1 || bad=$((bad + 1))
done
check "concurrent JSON bodies parse ($bad bad)" test "$bad" -eq 0

# an image indexed by another process while the server runs
req "before: no poster for 'book fair'" 200 -H "$AUTH" "$URL/search?q=book%20fair&k=10"
check "  ... the late image is not found yet" jqe --arg f "$LATE" '[.results[].path] | all(endswith($f) | not)' "$T/body"
cp "$SRC/samples/$LATE" "$T/imgs/"
"$BIN" --db "$DB" index --quiet "$T/imgs" >"$T/index2.out" 2>&1
check "second index run (server running) exits 0" test $? -eq 0
req "after: search 'book fair'" 200 -H "$AUTH" "$URL/search?q=book%20fair&k=3"
check "  ... finds the image indexed after the server started" \
    jqe --arg f "$LATE" '[.results[].path] | any(endswith($f))' "$T/body"
req "after: dense-only search" 200 -H "$AUTH" "$URL/search?q=book%20fair%20poster&k=3&mode=dense"
check "  ... the dense index (FAISS) caught up too" \
    jqe --arg f "$LATE" '[.results[].path] | any(endswith($f))' "$T/body"
req "after: stats" 200 -H "$AUTH" "$URL/stats"
check "  ... stats count the new image" jqe --argjson n "$((N0 + 1))" '.images == $n and .faiss_ntotal == .vectors' "$T/body"

# the database directory replaced under the running server (what a fresh
# rebuild does): the server notices and serves the new one
mkdir -p "$T/imgs2"
cp "$SRC/samples/table_cities.png" "$T/imgs2/swapped_table.png"
"$BIN" --db "$T/db2" index --quiet "$T/imgs2" >"$T/index3.out" 2>&1
check "index of the replacement database exits 0" test $? -eq 0
mv "$DB" "$T/db.old" && mv "$T/db2" "$DB"
check "directories swapped" test -d "$DB" -a -d "$T/db.old"
seen=0
for _ in $(seq 1 40); do
    curl -s -H "$AUTH" "$URL/stats" >"$T/body"
    if jq -e '.images == 1' "$T/body" >/dev/null 2>&1; then seen=1; break; fi
    sleep 0.25
done
check "the server reopened the replaced directory (stats: 1 image)" test $seen -eq 1
req "search in the replaced database" 200 -H "$AUTH" "$URL/search?q=table%20cities&k=3"
check "  ... finds the image only the new database holds" \
    jqe '[.results[].path] | any(endswith("swapped_table.png"))' "$T/body"
check "  ... and the server said so" grep -q "was replaced; reopened" "$T/serve.err"

# stops cleanly on SIGTERM
kill -TERM "$SRV_PID"
wait "$SRV_PID"
rc=$?
SRV_PID=
check "SIGTERM stops the server with exit 0 (rc=$rc)" test $rc -eq 0

# the token from the environment
OMNIDEX_TOKEN=envtok "$BIN" --db "$DB" serve --port 0 2>"$T/serve2.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve2.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -n "$PORT" ]; then
    req "OMNIDEX_TOKEN: no token" 401 "http://127.0.0.1:$PORT/stats"
    req "OMNIDEX_TOKEN: right token" 200 -H "Authorization: Bearer envtok" "http://127.0.0.1:$PORT/stats"
else
    check "second server started" false
fi

echo "$fails failed"
test $fails -eq 0
