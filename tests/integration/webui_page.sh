#!/usr/bin/env bash
# labels: integration
# The page at / without a browser: what the server sends (HTML, a CSP
# that lets it reach only this server, no caching of errors) and what the
# page holds (no external asset or CDN, nothing to build: one file under
# 64 KiB; both interface languages; the API calls it makes exist and
# answer in the shape it reads). webui.sh drives it in Chromium.
set -u
BIN=${1:?usage: webui_page.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
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
cp "$SRC/samples/bar_rainfall.png" "$SRC/samples/table_cities.png" "$T/imgs/"
"$BIN" --db "$T/db" index --quiet "$T/imgs" >/dev/null 2>&1
check "index exits 0" test $? -eq 0
"$BIN" --db "$T/db" serve --port 0 --token tk 2>"$T/serve.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
check "server printed its port" test -n "$PORT"
[ -n "$PORT" ] || exit 1
URL=http://127.0.0.1:$PORT
code=$(curl -s -o "$T/page" -D "$T/hdr" -w '%{http_code}' "$URL/?q=bar+chart&domain=chart")
check "the page needs no token and ignores its query string (got $code)" test "$code" = 200
hdr() { tr -d '\r' <"$T/hdr" | sed -n "s/^$1: //Ip" | head -1; }
check "text/html UTF-8" test "$(hdr content-type)" = "text/html; charset=utf-8"
csp=$(hdr content-security-policy)
check "CSP: only this server (connect-src 'self', default-src 'none')" \
    sh -c "echo \"$csp\" | grep -q \"connect-src 'self'\" && echo \"$csp\" | grep -q \"default-src 'none'\""
check "the page is what server/ui/index.html holds" cmp -s "$T/page" "$SRC/server/ui/index.html"
size=$(wc -c <"$T/page")
check "one file under 64 KiB ($size bytes)" test "$size" -lt 65536
check "no external assets (no http(s):// or protocol-relative URL, no @import)" \
    sh -c "! grep -Eq '(src|href)=\"(https?:)?//|url\\((https?:)?//|@import|https?://' '$T/page'"
check "no external script or style files" sh -c "! grep -Eq '<script[^>]+src=|<link[^>]+stylesheet' '$T/page'"
check "English and Chinese interface strings" sh -c "grep -q \"search:'Search'\" '$T/page' && grep -q \"search:'搜索'\" '$T/page'"
check "the page keeps its state in the URL (pushState, popstate)" \
    sh -c "grep -q 'history\\[replace' '$T/page' && grep -q \"addEventListener('popstate'\" '$T/page'"
for call in "'search?'" "'similar/'" "'images/'"; do
    check "the page calls $call" grep -qF "$call" "$T/page"
done
# the members the page reads exist in what the API answers
A="Authorization: Bearer tk"
curl -s -H "$A" "$URL/search?q=bar+chart&k=2&lang=en" >"$T/s.json"
check "search answers what the page reads (results[].id, path, caption, score, domain, thumb_url)" \
    jq -e '.results | length > 0 and all(.[]; .id and .path and .caption and (.score | type == "number") and .domain and .thumb_url)' "$T/s.json"
ID=$(jq -r '.results[0].id' "$T/s.json")
curl -s -H "$A" "$URL/images/$ID" >"$T/i.json"
check "images/{id} answers what the detail view reads (path, hash, size, description.captions.en/zh)" \
    jq -e '.path and (.hash | length == 64) and .size and .description.captions.en.short and .description.captions.zh.short' "$T/i.json"
curl -s -H "$A" "$URL/similar/$ID?k=12&lang=en" >"$T/sim.json"
check "similar/{id} answers results with thumb_url" jq -e '.results | all(.[]; .thumb_url)' "$T/sim.json"
echo "$fails failed"
test "$fails" -eq 0
