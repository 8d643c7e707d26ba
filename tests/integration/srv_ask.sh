#!/usr/bin/env bash
# labels: integration
# POST /ask on `omnidex serve` against the fake OpenAI-compatible server:
# with Accept: text/event-stream the answer streams as Server-Sent Events
# (the first piece reaches the client while the fake still holds the rest,
# and /search answers meanwhile), ending with an event that carries the
# citations (with paths) and the context sent; without it one JSON answer.
# The LLM comes from serve --llm/--llm-model (over the environment). The
# token, the JSON body's checks (type, fields, sizes), the limit of answers
# at a time, an LLM that fails (502 before the stream, an error event
# inside it), a client that leaves mid-stream: each answered clearly, and
# the server keeps serving.
set -u
BIN=${1:?usage: srv_ask.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
FAKE=${ODX_BUILD_DIR:?run through ctest}/tests/fake_oai
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
unset OMNIDEX_LLM_URL OMNIDEX_LLM_MODEL OMNIDEX_API_KEY OMNIDEX_TOKEN
fake() {
  local name=$1; shift
  rm -f "$T/$name.port"
  "$FAKE" --port-file "$T/$name.port" --log "$T/$name.log" --lifetime 600 "$@" &
  PIDS+=($!)
  FAKE_PID=$!
  for _ in $(seq 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
  URL="http://127.0.0.1:$(cat "$T/$name.port")/v1"
  LOG=$T/$name.log
  touch "$LOG"
}
# serve NAME ARGS...: starts the server, sets S (its base URL)
serve() {
  local name=$1; shift
  "$BIN" --db "$DB" serve --port 0 "$@" 2>"$T/$name.err" &
  PIDS+=($!)
  SRV_PID=$!
  local port=
  for _ in $(seq 300); do
    port=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/$name.err")
    [ -n "$port" ] && break
    sleep 0.1
  done
  S="http://127.0.0.1:$port"
  idx_check "serve $name started ($S)" test -n "$port"
}
TOKEN=ask-t0ken
AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"
# post NAME CODE BODY [CURL-ARGS...]: the answer in $T/NAME.body, headers in $T/NAME.hdr
post() {
  local name=$1 code=$2 body=$3; shift 3
  local got
  got=$(curl -s -o "$T/$name.body" -D "$T/$name.hdr" -w '%{http_code}' --max-time 60 \
    -H "$AUTH" -H "$JSON" --data-binary "$body" "$@" "$S/ask")
  idx_check "$name: $code (got $got)" test "$got" = "$code"
}
err_is() { jqf "$T/$1.body" --arg c "$2" '.error == $c and (.message | length > 0)'; }
# jqf FILE ARGS...: jq -e on a file that must hold one JSON value (empty fails)
jqf() { local f=$1; shift; test "$(jq -s length "$f" 2>/dev/null)" = 1 && jq -e "$@" "$f" >/dev/null; }

DB=$T/db
mkdir -p "$T/imgs"
cp "$SRC"/samples/*.png "$T/imgs/"
"$BIN" --db "$DB" index --quiet --no-detect "$T/imgs" >/dev/null 2>&1
idx_check "indexed" test $? -eq 0
Q="bar chart rainfall"
"$BIN" --db "$DB" search --json -k 1 "$Q" >"$T/top.json"
TOP=$(jq -r '.results[0].path' "$T/top.json")
idx_check "the top image of the question is the bar chart" test "$(basename "$TOP")" = bar_rainfall.png

# 1. SSE: the first piece arrives while the fake holds the rest
fake hold --hold "$T/release" --think field
OMNIDEX_LLM_MODEL=llm-env serve a --token "$TOKEN" --llm "$URL" --llm-model llm-srv --ask-jobs 1
curl -s -N -D "$T/sse.hdr" --max-time 90 -H "$AUTH" -H "$JSON" -H 'Accept: text/event-stream' \
  --data-binary "{\"question\": \"$Q\", \"k\": 3}" "$S/ask" >"$T/sse.out" 2>/dev/null &
CURL=$!
PIDS+=($CURL)
for _ in $(seq 600); do grep -q '^event: answer' "$T/sse.out" 2>/dev/null && break; sleep 0.1; done
idx_check "SSE: an answer event arrives while the rest is held" grep -q '^event: answer' "$T/sse.out"
idx_check "SSE: the client is still reading then (streamed, not buffered)" kill -0 $CURL
idx_check "SSE: Content-Type text/event-stream" grep -qi '^content-type: text/event-stream' "$T/sse.hdr"
code=$(curl -s -o "$T/s.json" -w '%{http_code}' --max-time 20 -H "$AUTH" "$S/search?q=table&k=1")
idx_check "SSE: /search answers meanwhile ($code)" test "$code" = 200
post busy 503 "{\"question\": \"$Q\"}"
idx_check "busy: a second question with --ask-jobs 1 is 503 unavailable" err_is busy unavailable
idx_check "busy: ... with Retry-After" grep -qi '^retry-after:' "$T/busy.hdr"
touch "$T/release"
wait $CURL
rc=$?
idx_check "SSE: curl ends cleanly (rc=$rc)" test $rc -eq 0
grep '^data: ' "$T/sse.out" | sed 's/^data: //' >"$T/sse.data"
idx_check "SSE: every data line is JSON ($(wc -l <"$T/sse.data") lines)" sh -c "test -s '$T/sse.data' && jq -e . '$T/sse.data' >/dev/null"
ans=$(awk '/^event: answer/{getline; sub(/^data: /, ""); print}' "$T/sse.out" | jq -j .text)
idx_check "SSE: the answer pieces join into the answer citing [1]" grep -q 'image \[1\]' <<<"$ans"
idx_check "SSE: reasoning came as its own events" grep -q '^event: reasoning' "$T/sse.out"
awk '/^event: done/{getline; sub(/^data: /, ""); print}' "$T/sse.out" >"$T/done.json"
idx_check "SSE: the done event has answer, citations with paths, context" \
  jqf "$T/done.json" --arg top "$TOP" --arg a "$ans" '.answer == $a and .citations[0].number == 1
    and .citations[0].path == $top and (.context | contains("### [1]")) and .model == "llm-srv"'
idx_check "SSE: the stream is text (no NUL bytes)" test "$(tr -cd '\000' <"$T/sse.out" | wc -c)" = 0
idx_check "SSE: done is the last event" test "$(grep '^event: ' "$T/sse.out" | tail -1)" = "event: done"
idx_check "the fake was asked by the server's --llm-model, streaming, with the context" \
  grep -q "model=llm-srv stream=1 system=1 .* ctx=1 " "$LOG"
idx_check "no malformed request" test "$(grep -c BAD "$LOG")" = 0

# 2. JSON without Accept; think false hides the reasoning
post json 200 "{\"question\": \"$Q\", \"k\": 3, \"think\": false, \"max_chars\": 3000}"
idx_check "json: application/json" grep -qi '^content-type: application/json' "$T/json.hdr"
idx_check "json: answer, citations, context; no reasoning" \
  jqf "$T/json.body" --arg top "$TOP" '(.answer | contains("[1]")) and .citations[0].path == $top
    and (.context | contains("### [1]")) and (has("reasoning") | not)'
idx_check "json: the context kept within max_chars" \
  jqf "$T/json.body" '(.context | length) <= 3000'
post think 200 "{\"question\": \"$Q\"}"
idx_check "json: the reasoning by default" jqf "$T/think.body" '.reasoning | contains("Thinking")'
post filter 200 "{\"question\": \"$Q\", \"domain\": \"table\", \"k\": 2}"
idx_check "json: the /search filters apply (domain table: no bar chart cited)" \
  jqf "$T/filter.body" --arg top "$TOP" '(.citations | length) > 0 and all(.citations[]; .path != $top and .domain == "table")'

curl -s -N --max-time 60 -H "$AUTH" -H "$JSON" -H 'Accept: text/event-stream' \
  --data-binary '{"question": "bar chart rainfall", "k": 2, "think": false}' "$S/ask" >"$T/nothink.out" 2>/dev/null
awk '/^event: done/{getline; sub(/^data: /, ""); print}' "$T/nothink.out" >"$T/nothink.json"
idx_check "stream with think false: no reasoning events" \
  sh -c "! grep -q '^event: reasoning' '$T/nothink.out' && grep -q '^event: answer' '$T/nothink.out'"
idx_check "stream: done with citations" jqf "$T/nothink.json" --arg top "$TOP" '.citations[0].path == $top'
# Accept with text/event-stream at q=0 refuses the stream: one JSON answer
post noSSE 200 "{\"question\": \"$Q\"}" -H 'Accept: text/event-stream;q=0, application/json'
idx_check "Accept text/event-stream;q=0: JSON, not a stream" \
  sh -c "grep -qi '^content-type: application/json' '$T/noSSE.hdr' && jq -e '.citations[0].path' '$T/noSSE.body' >/dev/null"
# GET /ask: refused before the model is asked (any web page can make a
# browser send a GET; docs/http-api.md)
n_chat=$(grep -c '^chat ' "$LOG")
code=$(curl -s -D "$T/get.hdr" -o "$T/get.body" -w '%{http_code}' --max-time 20 -H "$AUTH" \
  -H 'Accept: text/event-stream' "$S/ask?q=bar+chart+rainfall")
idx_check "GET /ask: 405 (got $code), Allow: POST" sh -c "test '$code' = 405 && grep -qi '^allow: POST' '$T/get.hdr'"
idx_check "GET /ask: method_not_allowed, the model not asked" \
  sh -c "jq -e '.error == \"method_not_allowed\"' '$T/get.body' >/dev/null && test \$(grep -c '^chat ' '$LOG') = $n_chat"

# 3. refusals, each with its status and a JSON error
code=$(curl -s -o "$T/noauth.body" -w '%{http_code}' --max-time 20 -H "$JSON" --data-binary '{"question":"x"}' "$S/ask")
idx_check "no token: 401 (got $code)" test "$code" = 401
post ctype 415 '{"question":"x"}' -H 'Content-Type: text/plain'
idx_check "ctype: unsupported_media_type" err_is ctype unsupported_media_type
post notjson 400 'question=x'
idx_check "not JSON: bad_request" err_is notjson bad_request
post unknown 400 '{"question":"x","llm_url":"http://10.0.0.1/v1"}'
idx_check "unknown field: named in the message" jqf "$T/unknown.body" '.message | contains("llm_url")'
post badk 400 '{"question":"x","k":0}'
post noq 400 '{"k":3}'
idx_check "no question: says so" jqf "$T/noq.body" '.message | contains("question")'
head -c 70000 /dev/zero | tr '\0' a >"$T/big.txt"
post big 413 "{\"question\":\"$(cat "$T/big.txt")\"}" -H 'Expect:'
post longq 413 "{\"question\":\"$(head -c 3000 "$T/big.txt")\"}"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X PUT -H "$AUTH" "$S/ask")
idx_check "PUT /ask: 405 (got $code)" test "$code" = 405
code=$(curl -s -I -o /dev/null -w '%{http_code}' --max-time 20 -H "$AUTH" "$S/ask?q=x")
idx_check "HEAD /ask: 405, the model is not asked (got $code)" test "$code" = 405
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X POST -H "$AUTH" -H "$JSON" -d '{}' "$S/search")
idx_check "POST /search: still 405 (got $code)" test "$code" = 405
post cont 200 "{\"question\": \"$Q\", \"k\": 1}" -H 'Expect: 100-continue'
idx_check "Expect: 100-continue is honoured" jqf "$T/cont.body" '.answer | contains("[1]")'

# 4. a client that leaves in the middle of the stream
rm -f "$T/release"
curl -s -N --max-time 90 -H "$AUTH" -H "$JSON" -H 'Accept: text/event-stream' \
  --data-binary "{\"question\": \"$Q\"}" "$S/ask" >"$T/gone.out" 2>/dev/null &
CURL=$!
for _ in $(seq 600); do grep -q '^event: answer' "$T/gone.out" 2>/dev/null && break; sleep 0.1; done
kill $CURL; wait $CURL 2>/dev/null
touch "$T/release"
ok=
for _ in $(seq 100); do
  code=$(curl -s -o "$T/after.body" -w '%{http_code}' --max-time 20 -H "$AUTH" -H "$JSON" \
    --data-binary "{\"question\": \"$Q\"}" "$S/ask")
  [ "$code" = 200 ] && { ok=1; break; }
  sleep 0.2
done
idx_check "after a client left mid-stream the next question is answered" test -n "$ok"
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null

# 5. an LLM that fails: 502 before the stream, an error event inside it
fake bad --script 500,500,500,500,err
serve b --token "$TOKEN" --llm "$URL" --llm-model llm-b
post down 502 "{\"question\": \"$Q\"}" -H 'Accept: text/event-stream'
idx_check "LLM 500s: a bad_gateway JSON error, not a stream" err_is down bad_gateway
idx_check "LLM 500s: the message says what failed" jqf "$T/down.body" '.message | test("500|HTTP")'
curl -s -N --max-time 60 -H "$AUTH" -H "$JSON" -H 'Accept: text/event-stream' \
  --data-binary "{\"question\": \"$Q\"}" "$S/ask" >"$T/mid.out" 2>/dev/null
grep -q '^event: answer' "$T/mid.out"
idx_check "LLM fails mid-stream: answer events first" test $? -eq 0
idx_check "LLM fails mid-stream: the last event is an error" \
  test "$(grep '^event: ' "$T/mid.out" | tail -1)" = "event: error"
awk '/^event: error/{getline; sub(/^data: /, ""); print}' "$T/mid.out" >"$T/mid.json"
idx_check "... bad_gateway with the endpoint's message" \
  jqf "$T/mid.json" '.error == "bad_gateway" and (.message | contains("fake failure"))'
idx_check "the fake was asked 5 times (4 attempts, then the stream)" test "$(grep -c '^chat ' "$LOG")" = 5
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
post dead 502 "{\"question\": \"$Q\"}"
idx_check "LLM gone: bad_gateway naming the URL" jqf "$T/dead.body" --arg u "$URL" '.error == "bad_gateway" and (.message | contains($u))'
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H "$AUTH" "$S/search?q=table")
idx_check "the server keeps serving /search after the failures ($code)" test "$code" = 200
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null

# 6. no LLM configured: 503 not_configured, saying how to set one
serve c --token "$TOKEN"
post none 503 "{\"question\": \"$Q\"}"
idx_check "no LLM: not_configured, naming --llm" jqf "$T/none.body" '.error == "not_configured" and (.message | contains("--llm"))'
"$BIN" --db "$DB" serve --ask-jobs 0 >/dev/null 2>&1
idx_check "serve --ask-jobs 0: usage error" test $? -eq 2
echo "$idx_fails failed"
exit $((idx_fails > 0))
