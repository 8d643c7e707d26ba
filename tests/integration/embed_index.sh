#!/usr/bin/env bash
# labels: integration
# `index --embed` (remote text embeddings) against the fake OpenAI-compatible
# server (tests/fake_oai), whose /v1/embeddings is a hashed bag of words in
# which a word and its anagram are the same (a meaning no native path
# knows): every image gets its learned vector; a query word spelled as the
# anagram of an image's VLM marker finds that image first, through the
# learned vectors only; a rename reuses the vector; a model change
# re-embeds without re-captioning; a dead endpoint leaves a complete native
# index, searches say they answered natively, and a later run (settings
# from the config file) fills the vectors in; rebuild --fresh keeps them;
# malformed answers (wrong count, wrong dimension, non-numbers, NaN,
# infinities, all-zero vectors) are refused per batch, recorded, and
# filled in by the next run.
set -u
BIN=${1:?usage: embed_index.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
FAKE=${ODX_BUILD_DIR:?run through ctest}/tests/fake_oai
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
unset OMNIDEX_VLM_URL OMNIDEX_VLM_MODEL OMNIDEX_API_KEY OMNIDEX_EMBED_URL OMNIDEX_EMBED_MODEL

# fake NAME [ARGS...]: starts one, sets URL, LOG and FAKE_PID
fake() {
  local name=$1; shift
  rm -f "$T/$name.port"
  "$FAKE" --port-file "$T/$name.port" --log "$T/$name.log" --lifetime 900 "$@" &
  PIDS+=($!)
  FAKE_PID=$!
  for _ in $(seq 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
  URL="http://127.0.0.1:$(cat "$T/$name.port")/v1"
  LOG=$T/$name.log
  touch "$LOG"
}
stop_fake() { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; }
word_of() { sha256sum "$1" | cut -c1-8 | tr '0-9a-f' 'a-p' | sed 's/^/zq/'; }
embeds() { grep -c '^embed ' "$1"; }
NAT="--no-ocr --no-detect"

mkdir -p "$T/imgs"
cp "$SRC"/samples/*.png "$T/imgs/"
n=$(ls "$T/imgs" | wc -l)
idx_check "samples copied ($n)" test "$n" -ge 5
DB=$T/db

# 1. VLM captions and learned vectors in one run
fake a
"$BIN" --db "$DB" index $NAT --log-json --vlm "$URL" --vlm-model vlm-a --vlm-max-side 4096 \
  --embed "$URL" --embed-model emb-a "$T/imgs" >"$T/1.json" 2>"$T/1.err"
rc=$?
s() { idx_summary "$T/1.json" "$1"; }
idx_check "first run exits 0 (rc=$rc)" test $rc -eq 0
idx_check "all $n got VLM captions ($(s vlm_captioned))" test "$(s vlm_captioned)" = "$n"
idx_check "all $n got a learned vector ($(s embedded), failed $(s embed_failed), pending $(s embed_pending))" \
  test "$(s embedded)" = "$n" -a "$(s embed_failed)" = 0 -a "$(s embed_pending)" = 0
idx_check "one batched request for the $n ($(grep -c "^embed .*inputs=$n " "$LOG"))" \
  test "$(grep -c "^embed .*action=ok model=emb-a inputs=$n " "$LOG")" = 1
idx_check "the fake saw no malformed request" test "$(grep -c BAD "$LOG")" = 0
"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "stats: model emb-a, 256 dimensions, $n vectors, no error" \
  jq -e ".embed_model == \"emb-a\" and .embed_dim == 256 and .embed_vectors == $n and (has(\"embed_error\") | not)" "$T/stats.json"
idx_check "the vector file is there" test -s "$DB/embed.vec"

for f in "$T"/imgs/*.png; do
  w=$(word_of "$f")
  a=$(echo "$w" | rev)
  b=$(basename "$f")
  "$BIN" --db "$DB" search --json --explain -k 3 --embed "$URL" "$a" >"$T/s.json"
  idx_check "$b: '$a' (an anagram of its marker) finds it first" \
    jq -e --arg b "/$b" '.results[0].path | endswith($b)' "$T/s.json"
  idx_check "$b: ... through the learned vectors (used, rank 1, lexical rank 0)" \
    jq -e '.embed.used and .embed.model == "emb-a" and
      (.results[0].explain | test("learned rank 1 ") and test("lexical rank 0 "))' "$T/s.json"
  "$BIN" --db "$DB" search --json --lexical-only -k 3 "$a" >"$T/l.json"
  idx_check "$b: no caption holds '$a' (lexical search finds nothing)" jq -e '.count == 0' "$T/l.json"
done
"$BIN" --db "$DB" search --json --no-embed -k 3 --embed "$URL" "$(word_of "$T/imgs/table_cities.png" | rev)" >"$T/s.json"
idx_check "--no-embed: the learned path is not asked (no \"embed\" in the answer)" \
  jq -e 'has("embed") | not' "$T/s.json"
# the vector file is a cache: a damaged one is read past (the table is the truth)
sz=$(stat -c %s "$DB/embed.vec")
printf '\377\377\377\377' | dd of="$DB/embed.vec" bs=1 seek=$((sz - 6)) conv=notrunc 2>/dev/null
"$BIN" --db "$DB" search --json -k 1 --embed "$URL" "$(word_of "$T/imgs/poster_book_fair.png" | rev)" >"$T/s.json" 2>"$T/s.err"
idx_check "a damaged vector file: the search still finds the poster by its learned vector" \
  jq -e '.embed.used and (.results[0].path | endswith("/poster_book_fair.png"))' "$T/s.json"
idx_check "... with a warning naming the checksum" grep -q "embeddings file: .*checksum" "$T/s.err"
q=$(grep -c '^embed ' "$LOG")
OMNIDEX_EMBED_URL=$URL "$BIN" --db "$DB" context "$(word_of "$T/imgs/table_cities.png" | rev)" >"$T/ctx.md"
idx_check "context (endpoint from the environment) puts the table first" \
  grep -q "^### \[1\] .*table_cities.png" "$T/ctx.md"
idx_check "... having embedded the question once ($q -> $(embeds "$LOG"))" test "$(embeds "$LOG")" = $((q + 1))

# 2. rename: the vector is reused (one probe request, one input)
mv "$T/imgs/table_cities.png" "$T/imgs/renamed_table.png"
before=$(embeds "$LOG")
OMNIDEX_EMBED_URL=$URL OMNIDEX_EMBED_MODEL=emb-a "$BIN" --db "$DB" index $NAT --log-json \
  --no-vlm "$T/imgs" >"$T/2.json" 2>"$T/2.err"
rc=$?
idx_check "rename: exit 0 (rc=$rc), nothing embedded ($(idx_summary "$T/2.json" embedded))" \
  test $rc -eq 0 -a "$(idx_summary "$T/2.json" embedded)" = 0
idx_check "rename: only the probe was asked ($before -> $(embeds "$LOG"))" \
  test "$(embeds "$LOG")" = $((before + 1)) -a "$(grep "^embed " "$LOG" | tail -1 | grep -c "inputs=1 ")" = 1
"$BIN" --db "$DB" search --json -k 1 --embed "$URL" "$(word_of "$T/imgs/renamed_table.png" | rev)" >"$T/s.json"
idx_check "rename: found by the learned vector at its new path" \
  jq -e '.results[0].path | endswith("/renamed_table.png")' "$T/s.json"
"$BIN" --db "$DB" search -k 1 --embed "$URL" foo >/dev/null 2>"$T/v.err"
idx_check "the index run rewrote the damaged vector file (no warning now)" \
  test "$(grep -c 'embeddings file' "$T/v.err")" = 0

# 3. a model change (another dimension too) re-embeds from stored captions
chats_before=$(grep -c '^chat ' "$LOG")
"$BIN" --db "$DB" index $NAT --log-json --no-vlm --embed "$URL" --embed-model emb-b-128 \
  "$T/imgs" >"$T/3.json" 2>"$T/3.err"
rc=$?
s() { idx_summary "$T/3.json" "$1"; }
idx_check "model change: exit 0 (rc=$rc), $n re-embedded ($(s embedded))" \
  test $rc -eq 0 -a "$(s embedded)" = "$n"
idx_check "model change: nothing re-captioned (new $(s new), changed $(s changed), no chat)" \
  test "$(s new)" = 0 -a "$(s changed)" = 0 -a "$(grep -c '^chat ' "$LOG")" = "$chats_before"
"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "model change: stats say emb-b-128, 128 dimensions, $n vectors" \
  jq -e ".embed_model == \"emb-b-128\" and .embed_dim == 128 and .embed_vectors == $n" "$T/stats.json"
w=$(word_of "$T/imgs/bar_rainfall.png" | rev)
"$BIN" --db "$DB" search --json --explain -k 1 --embed "$URL" "$w" >"$T/s.json"
idx_check "model change: the query is embedded with emb-b-128 and finds the chart" \
  jq -e '.embed.used and .embed.model == "emb-b-128" and (.results[0].path | endswith("/bar_rainfall.png"))' "$T/s.json"
idx_check "model change: the query went to emb-b-128" grep -q "model=emb-b-128 inputs=1 first=$w" "$LOG"
"$BIN" --db "$DB" search --json -k 1 --embed "$URL" --embed-model emb-a "$w" >"$T/s.json"
idx_check "a query model other than the index's: native answer, and why" \
  jq -e '(.embed.used | not) and (.embed.note | test("emb-b-128")) and .count == 1' "$T/s.json"
stop_fake
DEAD=$URL
"$BIN" --db "$DB" search --json --explain -k 3 --embed "$DEAD" "$w" >"$T/s.json"
rc=$?
idx_check "endpoint down at search time: exit 0 (rc=$rc), native answer, saying why" \
  jq -e '(.embed.used | not) and (.embed.note | test("native paths")) and .count > 0 and
    (.results[0].explain | test("learned vectors not used"))' "$T/s.json"

# 4. a dead endpoint: complete native index, exit 0; searches say so
DB2=$T/db2
"$BIN" --db "$DB2" index $NAT --log-json --embed "$DEAD" --embed-model emb-a "$T/imgs" \
  >"$T/4.json" 2>"$T/4.err"
rc=$?
s() { idx_summary "$T/4.json" "$1"; }
idx_check "dead endpoint: exit 0 (rc=$rc), all $n indexed ($(s new)), none failed ($(s failed))" \
  test $rc -eq 0 -a "$(s new)" = "$n" -a "$(s failed)" = 0
idx_check "dead endpoint: no vector, $n pending ($(s embedded)/$(s embed_pending))" \
  test "$(s embedded)" = 0 -a "$(s embed_pending)" = "$n" -a "$(s embed_failed)" = "$n"
idx_check "dead endpoint: said so on stderr" grep -q "not answering" "$T/4.err"
"$BIN" --db "$DB2" stats --json >"$T/stats.json"
idx_check "dead endpoint: the failure is recorded (stats embed_error)" \
  jq -e '.embed_error | test("contents not embedded")' "$T/stats.json"
"$BIN" --db "$DB2" search --json --explain -k 3 --embed "$DEAD" "bar chart rainfall" >"$T/s.json"
idx_check "dead endpoint: native search answers, saying the learned path was not used" \
  jq -e '(.embed.used | not) and (.embed.note | length > 0) and
    any(.results[]; .path | endswith("/bar_rainfall.png")) and
    (.results[0].explain | test("learned vectors not used"))' "$T/s.json"
"$BIN" --db "$DB2" errors --json >"$T/errs.json"
idx_check "dead endpoint: no error rows" jq -e 'length == 0' "$T/errs.json"

# 5. later: the endpoint is back, settings from the config file, no flags
fake b
printf 'embed_url = %s\nembed_model = emb-a\n' "$URL" >"$DB2/config"
"$BIN" --db "$DB2" index --log-json >"$T/5.json" 2>"$T/5.err"
rc=$?
s() { idx_summary "$T/5.json" "$1"; }
idx_check "later run: exit 0 (rc=$rc), $n vectors filled in ($(s embedded)), nothing re-captioned ($(s new)/$(s changed))" \
  test $rc -eq 0 -a "$(s embedded)" = "$n" -a "$(s new)" = 0 -a "$(s changed)" = 0
"$BIN" --db "$DB2" stats --json >"$T/stats.json"
idx_check "later run: $n vectors, the error cleared" \
  jq -e ".embed_vectors == $n and (has(\"embed_error\") | not)" "$T/stats.json"
"$BIN" --db "$DB2" search --json -k 3 "bar chart rainfall" >"$T/s.json"
idx_check "later run: the search embeds the query by itself (config file)" jq -e '.embed.used' "$T/s.json"
"$BIN" --db "$DB2" rebuild --fresh $NAT --quiet >/dev/null 2>&1
rc=$?
"$BIN" --db "$DB2" stats --json >"$T/stats.json"
idx_check "rebuild --fresh (rc=$rc) keeps the $n learned vectors" \
  jq -e ".embed_vectors == $n and .embed_model == \"emb-a\"" "$T/stats.json"
"$BIN" --db "$DB2" index $NAT --log-json >"$T/5b.json" 2>&1
idx_check "... so the next run embeds nothing ($(idx_summary "$T/5b.json" embedded), pending $(idx_summary "$T/5b.json" embed_pending))" \
  test "$(idx_summary "$T/5b.json" embedded)" = 0 -a "$(idx_summary "$T/5b.json" embed_pending)" = 0
stop_fake

# 6. malformed answers, two images a batch: refused per batch, recorded
DB3=$T/db3
fake c --embed-script count,ok,dim,str
"$BIN" --db "$DB3" index $NAT --log-json --embed "$URL" --embed-model emb-a --embed-batch 2 \
  "$T/imgs" >"$T/6.json" 2>"$T/6.err"
rc=$?
s() { idx_summary "$T/6.json" "$1"; }
idx_check "malformed: exit 0 (rc=$rc), all $n indexed natively ($(s new))" \
  test $rc -eq 0 -a "$(s new)" = "$n"
idx_check "malformed: only the good batch stored (embedded $(s embedded), failed $(s embed_failed))" \
  test "$(s embedded)" = 2 -a "$(s embed_failed)" = $((n - 2)) -a "$(s embed_pending)" = $((n - 2))
idx_check "malformed: each bad batch asked once (not retried): 4 requests ($(embeds "$LOG"))" \
  test "$(embeds "$LOG")" = 4
idx_check "malformed: wrong count named" grep -q "1 vectors for 2 inputs" "$T/6.err"
idx_check "malformed: wrong dimension named" grep -q "has dimension 255, data\[0\] 256" "$T/6.err"
idx_check "malformed: a string for a number named" grep -q "is not a number" "$T/6.err"
"$BIN" --db "$DB3" stats --json >"$T/stats.json"
idx_check "malformed: the last failure recorded, 2 vectors kept" \
  jq -e '(.embed_error | test("not a number")) and .embed_vectors == 2' "$T/stats.json"
stop_fake
fake d --embed-script ok,inf,zero,wide
"$BIN" --db "$DB3" index $NAT --log-json --embed "$URL" --embed-model emb-a --embed-batch 2 \
  "$T/imgs" >"$T/7.json" 2>"$T/7.err"
s() { idx_summary "$T/7.json" "$1"; }
idx_check "malformed 2: infinity, all-zero and too wide refused ($(s embedded) embedded, $(s embed_failed) failed)" \
  test "$(s embedded)" = 0 -a "$(s embed_failed)" = $((n - 2))
idx_check "malformed 2: infinity named" grep -q "not a finite float" "$T/7.err"
idx_check "malformed 2: all-zero named" grep -q "all zeros" "$T/7.err"
idx_check "malformed 2: too wide named" grep -q "dimension 264, expected 256" "$T/7.err"
stop_fake
fake e --embed-script ok,nan
"$BIN" --db "$DB3" index $NAT --log-json --embed "$URL" --embed-model emb-a --embed-batch 2 \
  "$T/imgs" >"$T/8.json" 2>"$T/8.err"
rc=$?
s() { idx_summary "$T/8.json" "$1"; }
idx_check "a NaN (not JSON) is retried; then all filled in (rc=$rc, $(s embedded), pending $(s embed_pending))" \
  test $rc -eq 0 -a "$(s embedded)" = $((n - 2)) -a "$(s embed_pending)" = 0
"$BIN" --db "$DB3" stats --json >"$T/stats.json"
idx_check "every image has its vector now, the error cleared" \
  jq -e ".embed_vectors == $n and (has(\"embed_error\") | not)" "$T/stats.json"
"$BIN" --db "$DB3" check >/dev/null 2>&1
idx_check "the index passes omnidex check" test $? -eq 0

# 7. settings
"$BIN" --db "$T/db4" index --embed "$URL" "$T/imgs" >/dev/null 2>"$T/9.err"
rc=$?
idx_check "an embeddings URL without a model: exit 2 before any work (rc=$rc)" test $rc -eq 2
idx_check "... saying how to give one" grep -q -- "--embed-model NAME" "$T/9.err"
"$BIN" --db "$DB3" search --embed "ftp://x/" foo >/dev/null 2>&1
idx_check "search --embed with a URL that is not http(s): exit 2" test $? -eq 2
echo "$idx_fails failed"
exit $((idx_fails > 0))
