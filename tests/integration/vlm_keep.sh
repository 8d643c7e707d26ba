#!/usr/bin/env bash
# labels: integration
# VLM captions survive every native re-caption: `rebuild`, an engine-version
# change (simulated by ageing content.engine_version) and `rebuild --fresh`
# keep them (same rows, model, prompt version; the marker word still finds
# the image; the caption vector still holds them, byte for byte), and only a
# new VLM run replaces them; a failed VLM run leaves them too.
set -u
BIN=${1:?usage: vlm_keep.sh /path/to/omnidex}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idx_lib.sh"
SRC=${ODX_SOURCE_DIR:-$HERE/../..}
FAKE=${ODX_BUILD_DIR:?run through ctest}/tests/fake_oai
command -v sqlite3 >/dev/null || { echo "FAIL sqlite3 CLI missing (apt-get install sqlite3)"; exit 1; }
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
unset OMNIDEX_VLM_URL OMNIDEX_VLM_MODEL OMNIDEX_API_KEY

rm -f "$T/a.port"
"$FAKE" --port-file "$T/a.port" --log "$T/a.log" --lifetime 900 &
FAKE_PID=$!
PIDS+=($FAKE_PID)
for _ in $(seq 200); do [ -s "$T/a.port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/a.port")/v1"
LOG=$T/a.log
touch "$LOG"
word_of() { sha256sum "$1" | cut -c1-8 | tr '0-9a-f' 'a-p' | sed 's/^/zq/'; }
chats() { grep -c '^chat ' "$LOG"; }

mkdir -p "$T/imgs"
cp "$SRC"/samples/table_cities.png "$SRC"/samples/bar_rainfall.png "$SRC"/samples/poster_book_fair.png "$T/imgs/"
n=3
DB=$T/db
OPTS=(--no-ocr --no-detect --log-json)
"$BIN" --db "$DB" index "${OPTS[@]}" --vlm "$URL" --vlm-model model-a --vlm-max-side 4096 \
  "$T/imgs" >"$T/0.json" 2>"$T/0.err"
rc=$?
idx_check "VLM run: exit 0 (rc=$rc), $n captioned ($(idx_summary "$T/0.json" vlm_captioned))" \
  test $rc -eq 0 -a "$(idx_summary "$T/0.json" vlm_captioned)" = $n

# the VLM rows and the caption vector of every content, as text
vlm_rows() {
  sqlite3 -readonly "$DB/omnidex.db" \
    "SELECT hash, kind, lang, model, prompt, text FROM captions WHERE source = 'vlm' ORDER BY hash, kind, lang"
}
vec_of() {
  sqlite3 -readonly "$DB/omnidex.db" \
    "SELECT hash, field, hex(embedding) FROM vectors WHERE field = 'caption' ORDER BY hash"
}
vlm_rows >"$T/rows0"
vec_of >"$T/vec0"
nv=$(sqlite3 -readonly "$DB/omnidex.db" "SELECT count(DISTINCT hash) FROM captions WHERE source = 'vlm'")
idx_check "$n contents have VLM rows ($nv)" test "$nv" = $n

# kept(STEP): the VLM captions are as the VLM run left them
kept() {
  local step=$1
  vlm_rows >"$T/rows.$step"
  idx_check "$step: the VLM caption rows are kept unchanged ($(wc -l <"$T/rows.$step")/$(wc -l <"$T/rows0"))" \
    cmp -s "$T/rows0" "$T/rows.$step"
  vec_of >"$T/vec.$step"
  idx_check "$step: the caption vectors still embed the VLM captions (same bytes)" \
    cmp -s "$T/vec0" "$T/vec.$step"
  for f in "$T"/imgs/*.png; do
    local w
    w=$(word_of "$f")
    "$BIN" --db "$DB" search --json -k 1 "$w" >"$T/s.json"
    idx_check "$step: $(basename "$f") still found by its VLM-only word $w (as a word match)" \
      jq -e --arg b "/$(basename "$f")" '(.results[0].path | endswith($b)) and .results[0].matched != "similar meaning"' "$T/s.json"
  done
  "$BIN" --db "$DB" show --json "$T/imgs/table_cities.png" >"$T/show.json"
  idx_check "$step: show --json has model-a's captions and the native ones" \
    jq -e '(.vlm | length) >= 4 and all(.vlm[]; .model == "model-a")
      and (.description.captions.en.short | length) > 0' "$T/show.json"
  "$BIN" --db "$DB" stats --json >"$T/stats.json"
  idx_check "$step: stats counts $n contents with VLM captions" jq -e ".vlm_contents == $n" "$T/stats.json"
}

# 1. rebuild: every image re-captioned natively, no VLM pass
"$BIN" --db "$DB" rebuild "${OPTS[@]}" --no-vlm >"$T/1.json" 2>"$T/1.err"
rc=$?
idx_check "rebuild: exit 0 (rc=$rc)" test $rc -eq 0
kept rebuild

# 2. an engine-version bump: the next plain index re-captions everything
sqlite3 "$DB/omnidex.db" "UPDATE content SET engine_version = '0-older'"
"$BIN" --db "$DB" index "${OPTS[@]}" "$T/imgs" >"$T/2.json" 2>"$T/2.err"
rc=$?
idx_check "engine bump: exit 0 (rc=$rc)" test $rc -eq 0
idx_check "engine bump: re-captioned ($(sqlite3 -readonly "$DB/omnidex.db" "SELECT count(*) FROM content WHERE engine_version = '0-older'") left old)" \
  test "$(sqlite3 -readonly "$DB/omnidex.db" "SELECT count(*) FROM content WHERE engine_version = '0-older'")" = 0
kept engine-bump

# 3. rebuild --fresh: a new database built beside the old one
"$BIN" --db "$DB" rebuild --fresh --no-ocr --no-detect --quiet >"$T/3.out" 2>"$T/3.err"
rc=$?
idx_check "rebuild --fresh: exit 0 (rc=$rc; $(head -c 300 "$T/3.err"))" test $rc -eq 0
kept fresh

# 4. the same model and prompts again: nothing is asked
before=$(chats)
"$BIN" --db "$DB" index "${OPTS[@]}" --vlm "$URL" --vlm-model model-a --vlm-max-side 4096 \
  "$T/imgs" >"$T/4.json" 2>"$T/4.err"
idx_check "same model: no VLM request ($before -> $(chats)), nothing captioned" \
  test "$(chats)" = "$before" -a "$(idx_summary "$T/4.json" vlm_captioned)" = 0

# 5. a failing VLM run (dead endpoint, new model) keeps model-a's captions
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
"$BIN" --db "$DB" index "${OPTS[@]}" --vlm "$URL" --vlm-model model-b "$T/imgs" \
  >"$T/5.json" 2>"$T/5.err"
rc=$?
idx_check "dead endpoint: exit 0 (rc=$rc), $n pending ($(idx_summary "$T/5.json" vlm_pending))" \
  test $rc -eq 0 -a "$(idx_summary "$T/5.json" vlm_pending)" = $n
kept dead-endpoint

# 6. only a new VLM run replaces them
rm -f "$T/b.port"
"$FAKE" --port-file "$T/b.port" --log "$T/b.log" --lifetime 900 &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/b.port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/b.port")/v1"
"$BIN" --db "$DB" index "${OPTS[@]}" --vlm "$URL" --vlm-model model-b --vlm-max-side 4096 \
  "$T/imgs" >"$T/6.json" 2>"$T/6.err"
idx_check "model-b run: $n re-captioned ($(idx_summary "$T/6.json" vlm_captioned))" \
  test "$(idx_summary "$T/6.json" vlm_captioned)" = $n
idx_check "model-b run: only model-b's VLM rows now" \
  test "$(sqlite3 -readonly "$DB/omnidex.db" "SELECT count(*) FROM captions WHERE source = 'vlm' AND model <> 'model-b'")" = 0
"$BIN" --db "$DB" rebuild "${OPTS[@]}" --no-vlm >/dev/null 2>&1
idx_check "model-b's captions survive a rebuild too" \
  test "$(sqlite3 -readonly "$DB/omnidex.db" "SELECT count(DISTINCT hash) FROM captions WHERE source = 'vlm' AND model = 'model-b'")" = $n
"$BIN" --db "$DB" check >/dev/null 2>&1
rc=$?
idx_check "the index passes omnidex check (rc=$rc)" test $rc -eq 0
echo "$idx_fails failed"
exit $((idx_fails > 0))
