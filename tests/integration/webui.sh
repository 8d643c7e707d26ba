#!/usr/bin/env bash
# labels: integration
# The search page at / in a real browser: headless Chromium (Debian's
# chromium, scripts/install_deps.sh) loads /?q=bar+chart from a server on a
# tiny index and the DOM it builds is checked: result cards with their
# thumbnails loaded (blob: URLs), alt text from the captions, the bar chart
# first; a filter-only URL (?domain=table); the file-size filters
# (?min_size=30K, ?max_size=20K, a bad size's message); the detail view from the URL
# (?id=: captions in both languages, OCR text, the table as a table, the
# path with a copy button, the original loaded, similar images); the
# Chinese interface by browser language; and, driven inside the page
# (#selftest), arrow keys across the grid, a click into the detail view,
# ArrowRight to the next image, Escape, a second search and the back
# button bringing the first one back, '/' to the search box, the context
# panel's RAG block, an answer of the (fake) LLM and a click on its
# citation opening the cited image. Against a server with --token
# (#selftest-token=): the page asks for the token, and once it is typed
# "Open original" opens the original without sending it (the blob the
# page fetched with the token; the file's URL alone gets 401), in a new
# window that shows the image. Screenshots of the grid, the
# detail view and the Chinese page are written to
# $ODX_BUILD_DIR/webui-screens/ for people to look at (not compared).
# Without a browser the test says so and is skipped (exit 77), except
# under CI (CI set), where it fails.
set -u
BIN=${1:?usage: webui.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
SHOTS=${ODX_BUILD_DIR:?}/webui-screens
FAKE=$ODX_BUILD_DIR/tests/fake_oai
export OMP_THREAD_LIMIT=1 OMP_WAIT_POLICY=PASSIVE
T=$(mktemp -d)
SRV_PID=
SRV2_PID=
FAKE_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    [ -n "$SRV2_PID" ] && kill "$SRV2_PID" 2>/dev/null && wait "$SRV2_PID" 2>/dev/null
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

CHROME=
for c in chromium chromium-browser google-chrome; do
    command -v "$c" >/dev/null 2>&1 && { CHROME=$(command -v "$c"); break; }
done
if [ -z "$CHROME" ] || ! "$CHROME" --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>"$T/chrome.err"; then
    echo "webui: cannot start a browser (${CHROME:-no chromium on PATH}; install it with scripts/install_deps.sh)"
    [ -s "$T/chrome.err" ] && tail -3 "$T/chrome.err"
    if [ -n "${CI:-}" ]; then echo "FAIL no browser under CI"; exit 1; fi
    exit 77
fi

mkdir -p "$T/imgs"
for f in bar_rainfall line_visitors table_cities pie_fruit_zh poster_book_fair; do
    cp "$SRC/samples/$f.png" "$T/imgs/"
done
"$BIN" --db "$T/db" index --quiet "$T/imgs" >"$T/index.out" 2>&1
check "index exits 0" test $? -eq 0
BAR=$("$BIN" --db "$T/db" show --json "$T/imgs/bar_rainfall.png" | jq -r .id)
TABLE=$("$BIN" --db "$T/db" show --json "$T/imgs/table_cities.png" | jq -r .id)

# the LLM behind /ask: the fake OpenAI-compatible server of the ask tests
unset OMNIDEX_LLM_URL OMNIDEX_LLM_MODEL OMNIDEX_API_KEY
"$FAKE" --port-file "$T/fake.port" --log "$T/fake.log" --lifetime 600 &
FAKE_PID=$!
for _ in $(seq 200); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
check "fake LLM started" test -s "$T/fake.port"
OMNIDEX_LLM_URL="http://127.0.0.1:$(cat "$T/fake.port")/v1" OMNIDEX_LLM_MODEL=llm-ui \
    "$BIN" --db "$T/db" serve --port 0 2>"$T/serve.err" &
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

# browse NAME URL [chromium flags]: the DOM after the page settled, in $T/NAME.html
browse() {
    local name=$1 url=$2
    shift 2
    timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$T/profile-$name" --virtual-time-budget=20000 "$@" \
        --dump-dom "$url" >"$T/$name.html" 2>"$T/$name.err"
}
shot() { # shot NAME URL [flags]: a screenshot for people
    mkdir -p "$SHOTS"
    timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
        --user-data-dir="$T/profile-shot-$1" --virtual-time-budget=20000 --window-size=1280,900 \
        "${@:3}" --screenshot="$SHOTS/$1.png" "$2" >/dev/null 2>&1
}
has() { grep -q -- "$1" "$T/$2.html"; }
count() { grep -o -- "$1" "$T/$2.html" | wc -l; }

browse grid "$URL/?q=bar+chart"
check "the page settled with results (body data-state=results)" has 'data-state="results"' grid
n=$(count 'class="card"' grid)
check "result cards rendered ($n)" test "$n" -ge 3
loaded=$(grep -o '<img[^>]*class="thumb"[^>]*>' "$T/grid.html" | grep -c 'data-loaded="1"')
check "thumbnails loaded as blob: images ($loaded of $n)" sh -c "test $loaded -eq $n && grep -q 'src=\"blob:' '$T/grid.html'"
first=$(grep -o 'data-path="[^"]*"' "$T/grid.html" | head -1)
check "the bar chart is the first card ($first)" sh -c "echo '$first' | grep -q bar_rainfall.png"
check "alt text from the captions" grep -q 'alt="A bar chart' "$T/grid.html"
check "no request failed (server log)" sh -c "! grep -q ' 50[0-9] ' '$T/serve.err'"

ms=$(grep -o 'data-first-ms="[0-9]*"' "$T/grid.html" | grep -o '[0-9]*')
weight=$(curl -s "$URL/" | wc -c)
echo "note: page weight $weight bytes; results shown $ms ms after navigation in Chromium's virtual time (5 images)"
check "the page is small (<= 64 KiB: $weight bytes)" test "$weight" -le 65536

# keys, clicks and the back button, driven inside the page (#selftest); its
# ask step waits for a streamed answer, which only POST /ask gives (GET 405)
browse selftest "$URL/?q=chart#selftest"
st=$(grep -o 'data-selftest="[^"]*"' "$T/selftest.html")
check "keys, detail view, back button, context, ask, citation (${st:-no outcome})" test "$st" = 'data-selftest="pass"'

browse filter "$URL/?domain=table"
check "a filter-only URL lists the table" sh -c "grep -q 'data-state=\"results\"' '$T/filter.html' && test \$(grep -c 'class=\"card\"' '$T/filter.html') -ge 1 && grep -o 'data-path=\"[^\"]*\"' '$T/filter.html' | grep -q table_cities.png && ! grep -o 'data-path=\"[^\"]*\"' '$T/filter.html' | grep -vq table_cities.png"

# the size filters from the URL: the panel shows them, the cards keep to them
# (bar 17949, table 31409, line 35030 bytes; the others 24351 and 25382)
browse sizes "$URL/?q=chart&min_size=30K"
check "?min_size=30K: the table and the line chart only, the filter shown" \
    sh -c "grep -q 'data-state=\"results\"' '$T/sizes.html' && grep -o 'data-path=\"[^\"]*\"' '$T/sizes.html' | grep -q line_visitors.png && ! grep -o 'data-path=\"[^\"]*\"' '$T/sizes.html' | grep -vqE 'line_visitors.png|table_cities.png' && grep -q '<details class=\"more\" id=\"more\" open' '$T/sizes.html'"
browse sizes2 "$URL/?max_size=20K"
check "?max_size=20K (filters only): the bar chart alone" \
    sh -c "test \$(grep -c 'class=\"card\"' '$T/sizes2.html') -eq 1 && grep -o 'data-path=\"[^\"]*\"' '$T/sizes2.html' | grep -q bar_rainfall.png"
browse sizes3 "$URL/?q=chart&max_size=lots"
check "?max_size=lots: the server's message shown, no results" \
    sh -c "grep -q 'data-state=\"error\"' '$T/sizes3.html' && grep -q 'bad max-size' '$T/sizes3.html'"

browse detail "$URL/?q=table&id=$TABLE"
check "the detail view opened from the URL" grep -q '<section id="detail"[^>]*data-state="done"' "$T/detail.html"
check "  ... English and Chinese captions" sh -c "grep -q 'data-lang=\"en\"' '$T/detail.html' && grep -q 'data-lang=\"zh\"' '$T/detail.html'"
check "  ... the table rendered as a table" grep -q '<th>City</th>' "$T/detail.html"
check "  ... OCR text" grep -q 'id="docr"' "$T/detail.html"
check "  ... the path with a copy button" sh -c "grep -q 'id=\"dpath\">[^<]*table_cities.png' '$T/detail.html' && grep -q 'id=\"copy\"' '$T/detail.html'"
check "  ... the original loaded" grep -q '<img id="dimg"[^>]*data-loaded="1"' "$T/detail.html"
check "  ... similar images listed" sh -c "sed -n '/id=\"similar\"/,\$p' '$T/detail.html' | grep -q 'class=\"card\"'"

browse zh "$URL/?q=%E9%A5%BC%E5%9B%BE" --lang=zh-CN --accept-lang=zh-CN
check "Chinese interface by browser language" sh -c "grep -q '<html lang=\"zh-CN\"' '$T/zh.html' && grep -q '>搜索<' '$T/zh.html'"
check "  ... 饼图 finds the pie chart" sh -c "grep -o 'data-path=\"[^\"]*\"' '$T/zh.html' | head -1 | grep -q pie_fruit_zh.png"
browse en "$URL/?q=chart" --lang=en-US --accept-lang=en-US
check "English interface otherwise" sh -c "grep -q '<html lang=\"en\"' '$T/en.html' && grep -q '>Search<' '$T/en.html'"

# with serve --token: the page asks for it, and "Open original" opens the
# original the page fetched with the token (a blob: URL), not the file's
# URL, which a new tab would ask for without the token (401)
TOKEN=ui-$$-secret
"$BIN" --db "$T/db" serve --port 0 --token "$TOKEN" --access-log 2>"$T/serve2.err" &
SRV2_PID=$!
PORT2=
for _ in $(seq 1 300); do
    PORT2=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve2.err")
    [ -n "$PORT2" ] && break
    kill -0 "$SRV2_PID" 2>/dev/null || break
    sleep 0.1
done
check "a server with --token printed its port" test -n "$PORT2"
browse token "http://127.0.0.1:$PORT2/?q=table#selftest-token=$TOKEN" --disable-popup-blocking
st=$(grep -o 'data-selftest="[^"]*"' "$T/token.html")
check "--token: the token typed, Open original works without it in the link (${st:-no outcome})" \
    test "$st" = 'data-selftest="pass"'
check "  ... the original was sent once, with the token (server log)" \
    sh -c "test \$(grep -c ' GET /images/[0-9]*/file?v=[0-9a-f]* 200 ' '$T/serve2.err') -eq 1 && grep -q ' GET /images/[0-9]*/file 401 ' '$T/serve2.err'"
kill "$SRV2_PID" 2>/dev/null && wait "$SRV2_PID" 2>/dev/null
SRV2_PID=

shot grid "$URL/?q=chart"
shot detail "$URL/?q=table&id=$TABLE"
shot zh "$URL/?q=%E5%9B%BE%E8%A1%A8" --lang=zh-CN --accept-lang=zh-CN
check "screenshots written to $SHOTS" sh -c "test -s '$SHOTS/grid.png' && test -s '$SHOTS/detail.png' && test -s '$SHOTS/zh.png'"

echo "$fails failed"
test "$fails" -eq 0
