#!/usr/bin/env bash
# labels: integration
# `omnidex ask` against the fake OpenAI-compatible server: the answer
# streams (the first piece is on the terminal while the server still holds
# the rest), cites images by number, lists the cited images with their
# paths, and the retrieved context is what was sent; --json gives answer,
# citations and context; reasoning is shown on stderr or hidden with
# --no-think; a dead endpoint or no endpoint is a clear error.
set -u
BIN=${1:?usage: ask.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
FAKE=${ODX_BUILD_DIR:?run through ctest}/tests/fake_oai
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
unset OMNIDEX_LLM_URL OMNIDEX_LLM_MODEL OMNIDEX_API_KEY
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
DB=$T/db
mkdir -p "$T/imgs"
cp "$SRC"/samples/*.png "$T/imgs/"
"$BIN" --db "$DB" index --quiet --no-detect "$T/imgs" >/dev/null 2>&1
idx_check "indexed" test $? -eq 0
Q="bar chart rainfall"
"$BIN" --db "$DB" search --json -k 1 "$Q" >"$T/top.json"
TOP=$(jq -r '.results[0].path' "$T/top.json")
idx_check "the top image of the question is the bar chart" test "$(basename "$TOP")" = bar_rainfall.png

# 1. streaming: the server holds the answer after its first piece
fake hold --hold "$T/release" --think field
"$BIN" --db "$DB" ask --llm "$URL" --llm-model llm-a "$Q" >"$T/out.txt" 2>"$T/err.txt" &
ASK=$!
PIDS+=($ASK)
for _ in $(seq 600); do grep -q "Step 1" "$T/out.txt" 2>/dev/null && break; sleep 0.1; done
idx_check "the first piece is printed while the rest is held" grep -q "Step 1" "$T/out.txt"
idx_check "ask is still running then (it streams, not buffers)" kill -0 $ASK
touch "$T/release"
wait $ASK
rc=$?
idx_check "ask exits 0 (rc=$rc)" test $rc -eq 0
idx_check "the answer cites image [1]" grep -q "image \[1\]" "$T/out.txt"
idx_check "cited images listed with their paths" grep -qF "[1] $TOP" "$T/out.txt"
idx_check "reasoning shown (on stderr)" grep -q "captions say enough" "$T/err.txt"
idx_check "the context block was sent (### [1])" grep -q "ctx=1" "$LOG"
idx_check "with a system prompt, streaming, model llm-a" grep -q "model=llm-a stream=1 system=1" "$LOG"
idx_check "the question and the seed's recipe were sent" grep -q "prompt=The detailed captions of the provided images:" "$LOG"
idx_check "no malformed request" test "$(grep -c BAD "$LOG")" = 0

# 2. --json: answer + citations + context; --no-think hides the reasoning
"$BIN" --db "$DB" ask --json --no-think --llm "$URL" --llm-model llm-a -k 3 "$Q" >"$T/a.json" 2>"$T/err2.txt"
rc=$?
idx_check "ask --json exits 0 (rc=$rc)" test $rc -eq 0
idx_check "--json: answer, citations with paths, context" \
  jq -e --arg top "$TOP" '(.answer | contains("[1]")) and .citations[0].number == 1 and .citations[0].path == $top
    and (.context | contains("### [1]")) and .model == "llm-a"' "$T/a.json"
idx_check "--json --no-think: no reasoning" jq -e 'has("reasoning") | not' "$T/a.json"
idx_check "--no-think: nothing on stderr" test ! -s "$T/err2.txt"

# 3. <think> in the content: split off too
fake tag --think tag
"$BIN" --db "$DB" ask --no-think --llm "$URL" --llm-model llm-a "$Q" >"$T/out3.txt" 2>"$T/err3.txt"
idx_check "<think> block not printed as the answer" test "$(grep -c 'think>' "$T/out3.txt")" = 0
idx_check "<think> block hidden with --no-think" test "$(grep -c 'captions say enough' "$T/out3.txt" "$T/err3.txt" | awk -F: '{s+=$2} END {print s}')" = 0
idx_check "the answer still comes" grep -q "Step 2" "$T/out3.txt"

# 3b. --with-images: the top images go along (3, in order), as data URLs
"$BIN" --db "$DB" ask --json --with-images --llm "$URL" --llm-model vlm-ask -k 5 "$Q" >"$T/img.json" 2>/dev/null
idx_check "--with-images: 3 images sent" grep -q "model=vlm-ask stream=0 system=1 .* images=3 " "$LOG"
idx_check "--with-images: the prompt says they are attached" jq -e '.images_sent == 3 and (.answer | contains("[1]"))' "$T/img.json"

# 4. the settings from the environment; a dead endpoint; none at all
OMNIDEX_LLM_URL=$URL OMNIDEX_LLM_MODEL=llm-env "$BIN" --db "$DB" ask "$Q" >/dev/null 2>&1
idx_check "URL and model from the environment" grep -q "model=llm-env" "$LOG"
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
"$BIN" --db "$DB" ask --llm "$URL" --llm-model llm-a "$Q" >/dev/null 2>"$T/err4.txt"
rc=$?
idx_check "dead endpoint: exit 8 (rc=$rc)" test $rc -eq 8
idx_check "dead endpoint: the message names the URL" grep -qF "$URL" "$T/err4.txt"
"$BIN" --db "$DB" ask "$Q" >/dev/null 2>"$T/err5.txt"
rc=$?
idx_check "no endpoint configured: exit 2 (rc=$rc)" test $rc -eq 2
idx_check "no endpoint configured: says how to give one" grep -q -- "--llm URL" "$T/err5.txt"
# 5. POST /ask on the server: the same answer as JSON; 502 when the LLM
# fails. GET /ask is refused (405, Allow: POST) and the model is not asked:
# any web page can make a browser send a GET (docs/http-api.md)
fake srv
OMNIDEX_LLM_URL=$URL OMNIDEX_LLM_MODEL=llm-srv "$BIN" --db "$DB" serve --port 0 2>"$T/serve.err" &
SRV=$!
PIDS+=($SRV)
PORT=
for _ in $(seq 300); do
  PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
  [ -n "$PORT" ] && break
  sleep 0.1
done
idx_check "serve started (port $PORT)" test -n "$PORT"
askpost() { # askpost OUT BODY: the status of POST /ask
  curl -s -o "$1" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' \
    --data-binary "$2" "http://127.0.0.1:$PORT/ask"
}
code=$(askpost "$T/ask.json" '{"question": "bar chart rainfall", "k": 3}')
idx_check "POST /ask: 200 (got $code)" test "$code" = 200
idx_check "POST /ask: answer, citation [1] with the top path, context" \
  jq -e --arg top "$TOP" '(.answer | contains("[1]")) and .citations[0].path == $top and (.context | contains("### [1]"))' "$T/ask.json"
idx_check "POST /ask: the server's LLM settings, not streamed" grep -q "model=llm-srv stream=0 system=1" "$LOG"
code=$(askpost /dev/null '{"k": 3}')
idx_check "POST /ask without a question: 400 (got $code)" test "$code" = 400
n_chat=$(grep -c '^chat ' "$LOG")
code=$(curl -s -D "$T/get.hdr" -o "$T/get.json" -w '%{http_code}' --max-time 60 "http://127.0.0.1:$PORT/ask?q=bar+chart+rainfall&k=3")
idx_check "GET /ask: 405 (got $code)" test "$code" = 405
idx_check "... Allow: POST" grep -qi '^allow: POST' "$T/get.hdr"
idx_check "... a JSON error saying to POST" jq -e '.error == "method_not_allowed" and (.message | contains("POST"))' "$T/get.json"
idx_check "... and the model was not asked" test "$(grep -c '^chat ' "$LOG")" = "$n_chat"
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
code=$(askpost "$T/ask502.json" '{"question": "rainfall"}')
idx_check "POST /ask with the LLM down: 502 (got $code)" test "$code" = 502
idx_check "... as a JSON error" jq -e '.error == "bad_gateway"' "$T/ask502.json"
echo "$idx_fails failed"
exit $((idx_fails > 0))
