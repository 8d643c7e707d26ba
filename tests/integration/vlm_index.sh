#!/usr/bin/env bash
# labels: integration
# `index --vlm` against the fake OpenAI-compatible server (tests/fake_oai):
# every image gets a VLM caption and is found by a word only that caption
# holds; the prompt follows the native domain; a rename reuses the VLM
# captions, a model change re-captions; injected 500/429/truncated answers
# are retried; a dead endpoint leaves a complete native index (exit 0) and
# a later run (settings from the database's config file) fills the VLM
# captions in; large images are sent re-encoded as JPEG.
set -u
BIN=${1:?usage: vlm_index.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
FAKE=${ODX_BUILD_DIR:?run through ctest}/tests/fake_oai
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
unset OMNIDEX_VLM_URL OMNIDEX_VLM_MODEL OMNIDEX_API_KEY

# fake NAME [ARGS...]: starts one, sets URL and LOG
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
# the marker word the fake answers for a file sent as it is
word_of() {
  sha256sum "$1" | cut -c1-8 | tr '0-9a-f' 'a-p' | sed 's/^/zq/'
}
chats() { grep -c '^chat ' "$1"; }

mkdir -p "$T/imgs"
cp "$SRC"/samples/*.png "$T/imgs/"
n=$(ls "$T/imgs" | wc -l)
idx_check "samples copied ($n)" test "$n" -ge 5
DB=$T/db

# 1. first run: a 500, a 429 and a truncated answer on the way, all retried
fake a --script 500,429:1,trunc
"$BIN" --db "$DB" index --log-json --vlm "$URL" --vlm-model model-a --vlm-max-side 4096 \
  "$T/imgs" >"$T/1.json" 2>"$T/1.err"
rc=$?
idx_check "first run exits 0 (rc=$rc)" test $rc -eq 0
s() { idx_summary "$T/1.json" "$1"; }
idx_check "all $n indexed natively ($(s new))" test "$(s new)" = "$n"
idx_check "all $n got VLM captions ($(s vlm_captioned))" test "$(s vlm_captioned)" = "$n"
idx_check "no VLM failure left ($(s vlm_failed), pending $(s vlm_pending))" \
  test "$(s vlm_failed)" = 0 -a "$(s vlm_pending)" = 0
idx_check "the fake saw no malformed request" test "$(grep -c BAD "$LOG")" = 0
idx_check "$n answers + 3 injected failures = $((n + 3)) requests ($(chats "$LOG"))" \
  test "$(chats "$LOG")" = $((n + 3))
idx_check "images went as they are (PNG)" test "$(grep -c 'mime=png' "$LOG")" = $((n + 3))

for f in "$T"/imgs/*.png; do
  w=$(word_of "$f")
  b=$(basename "$f")
  idx_check "$b: the fake answered its marker $w" grep -q "word=$w" "$LOG"
  "$BIN" --db "$DB" search --json -k 3 "$w" >"$T/s.json"
  idx_check "$b: found first by '$w' (only its VLM caption has it)" \
    jq -e --arg b "/$b" '.results[0].path | endswith($b)' "$T/s.json"
  "$BIN" --db "$DB" show --json "$f" >"$T/show.json"
  idx_check "$b: show --json has the VLM captions (model-a) and the native ones" \
    jq -e --arg w "$w" '(.vlm | length) >= 4 and all(.vlm[]; .model == "model-a" and (.prompt | test("^1-")))
      and any(.vlm[]; .kind == "detailed" and .lang == "en" and (.text | contains($w)))
      and any(.vlm[]; .lang == "zh") and (.description.captions.en.short | length) > 0' "$T/show.json"
  d=$(jq -r '.description.domain' "$T/show.json")
  head=$(awk -v d="[$d]" '$0 == d {getline; print; exit}' "$SRC/remote/vlm_prompts.txt")
  idx_check "$b ($d): asked with the $d prompt" \
    grep -qF "word=$w ctx=0 mime=png images=1 prompt=$head" "$LOG"
done
idx_check "prompts differ by domain ($(grep -o 'prompt=.*' "$LOG" | sort -u | wc -l) kinds)" \
  test "$(grep -o 'prompt=.*' "$LOG" | sort -u | wc -l)" -ge 3
"$BIN" --db "$DB" show "$T/imgs/table_cities.png" >"$T/show.txt"
idx_check "show prints the VLM caption beside the native one" \
  grep -q "^vlm detailed (en, model-a)" "$T/show.txt"
idx_check "show still prints the native short caption" grep -q "^short (en):" "$T/show.txt"
"$BIN" --db "$DB" context "$(word_of "$T/imgs/table_cities.png")" >"$T/ctx.md"
idx_check "the context block carries the VLM caption" grep -q "^- VLM caption (model-a): " "$T/ctx.md"
"$BIN" --db "$DB" stats --json >"$T/stats.json"
idx_check "stats: $n contents with VLM captions" jq -e ".vlm_contents == $n" "$T/stats.json"

# 2. rename: nothing asked again, the caption follows the file
mv "$T/imgs/table_cities.png" "$T/imgs/renamed_table.png"
before=$(chats "$LOG")
"$BIN" --db "$DB" index --log-json --vlm "$URL" --vlm-model model-a --vlm-max-side 4096 \
  "$T/imgs" >"$T/2.json" 2>"$T/2.err"
rc=$?
idx_check "after a rename: exit 0 (rc=$rc), nothing re-captioned ($(idx_summary "$T/2.json" vlm_captioned))" \
  test $rc -eq 0 -a "$(idx_summary "$T/2.json" vlm_captioned)" = 0
idx_check "after a rename: no request ($before -> $(chats "$LOG"))" test "$(chats "$LOG")" = "$before"
"$BIN" --db "$DB" search --json -k 1 "$(word_of "$T/imgs/renamed_table.png")" >"$T/s.json"
idx_check "the renamed table is found by its marker at its new path" \
  jq -e '.results[0].path | endswith("/renamed_table.png")' "$T/s.json"

# 3. a model change (given by the environment) re-captions everything
OMNIDEX_VLM_URL=$URL OMNIDEX_VLM_MODEL=model-b "$BIN" --db "$DB" index --log-json \
  --vlm-max-side 4096 "$T/imgs" >"$T/3.json" 2>"$T/3.err"
rc=$?
idx_check "model change: exit 0 (rc=$rc), $n re-captioned ($(idx_summary "$T/3.json" vlm_captioned))" \
  test $rc -eq 0 -a "$(idx_summary "$T/3.json" vlm_captioned)" = "$n"
idx_check "model change: $n more requests, all for model-b" \
  test "$(grep -c 'model=model-b' "$LOG")" = "$n"
"$BIN" --db "$DB" show --json "$T/imgs/renamed_table.png" >"$T/show.json"
idx_check "the stored VLM captions are model-b's now" \
  jq -e 'all(.vlm[]; .model == "model-b") and any(.vlm[]; .text | contains("model-b"))' "$T/show.json"
"$BIN" --db "$DB" index --log-json --no-vlm "$T/imgs" >"$T/3b.json" 2>&1
idx_check "--no-vlm: no VLM pass ($(idx_summary "$T/3b.json" vlm_captioned))" \
  test "$(idx_summary "$T/3b.json" vlm_captioned)" = 0
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
DEAD=$URL

# 4. a dead endpoint: the native index is complete, exit 0
DB2=$T/db2
"$BIN" --db "$DB2" index --log-json --vlm "$DEAD" --vlm-model model-a "$T/imgs" \
  >"$T/4.json" 2>"$T/4.err"
rc=$?
idx_check "dead endpoint: exit 0 (rc=$rc)" test $rc -eq 0
s() { idx_summary "$T/4.json" "$1"; }
idx_check "dead endpoint: all $n indexed ($(s new)), no file failed ($(s failed))" \
  test "$(s new)" = "$n" -a "$(s failed)" = 0
idx_check "dead endpoint: no VLM caption, $n pending ($(s vlm_captioned)/$(s vlm_pending))" \
  test "$(s vlm_captioned)" = 0 -a "$(s vlm_pending)" = "$n"
idx_check "dead endpoint: said so on stderr" grep -q "not answering" "$T/4.err"
"$BIN" --db "$DB2" search --json -k 3 "bar chart rainfall" >"$T/s.json"
idx_check "dead endpoint: native search works" \
  jq -e 'any(.results[]; .path | endswith("/bar_rainfall.png"))' "$T/s.json"
"$BIN" --db "$DB2" errors --json >"$T/errs.json"
idx_check "dead endpoint: no error rows" jq -e 'length == 0' "$T/errs.json"

# 5. later: the endpoint is back, settings from the config file, no flags
fake b
printf '# omnidex settings\nvlm_url = %s\nvlm_model = model-a\nvlm_max_side = 256\n' "$URL" >"$DB2/config"
"$BIN" --db "$DB2" index --log-json >"$T/5.json" 2>"$T/5.err"
rc=$?
s() { idx_summary "$T/5.json" "$1"; }
idx_check "later run: exit 0 (rc=$rc), $n VLM captions filled in ($(s vlm_captioned))" \
  test $rc -eq 0 -a "$(s vlm_captioned)" = "$n"
idx_check "later run: nothing re-captioned natively ($(s new)/$(s changed))" \
  test "$(s new)" = 0 -a "$(s changed)" = 0
idx_check "later run: large images re-encoded as JPEG at 256 px ($(grep -c 'mime=jpeg' "$LOG"))" \
  test "$(grep -c 'mime=jpeg' "$LOG")" -ge 1
w=$(grep -o 'word=zq[a-p]*' "$LOG" | head -1 | cut -d= -f2)
"$BIN" --db "$DB2" search --json -k 1 "$w" >"$T/s.json"
idx_check "later run: found by a marker of the fake's ($w)" jq -e '.count == 1' "$T/s.json"
"$BIN" --db "$DB2" check >/dev/null 2>&1
idx_check "the index with VLM captions passes omnidex check" test $? -eq 0
# 6. rebuild --fresh swaps in a new directory: the config file moves with it
"$BIN" --db "$DB2" rebuild --fresh --no-ocr --no-detect --quiet >/dev/null 2>&1
rc=$?
idx_check "rebuild --fresh exits 0 (rc=$rc) and keeps DBDIR/config" \
  grep -q "^vlm_model = model-a" "$DB2/config"
"$BIN" --db "$T/db3" index --vlm "$URL" "$T/imgs" >/dev/null 2>"$T/6.err"
rc=$?
idx_check "a VLM URL without a model: exit 2 before any work (rc=$rc)" test $rc -eq 2
idx_check "... saying how to give one" grep -q -- "--vlm-model NAME" "$T/6.err"
"$BIN" --db "$T/db3" index --vlm "ftp://127.0.0.1/" --vlm-model m "$T/imgs" >/dev/null 2>&1
idx_check "a URL that is not http(s): exit 2" test $? -eq 2
echo "$idx_fails failed"
exit $((idx_fails > 0))
