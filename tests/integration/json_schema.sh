#!/usr/bin/env bash
# labels: integration
# The JSON clients rely on matches docs/schema/omnidex-v2.schema.json: the
# CLI's search/context/show/errors/stats/check/caption --json and index
# --log-json lines, and the HTTP API's /search, /similar/{id}, /context,
# /images/{id}, /stats and an error body. search --json and GET /search
# are one shape: the same object for the same query, but for the URLs HTTP
# adds (and --like #ID the same as /similar/ID); search --json-array is
# the bare array of version 1 (omnidex-v1.schema.json's search_cli). A
# document that breaks the schema (a bad status, a missing field) is
# refused, so the check can fail.
set -u
BIN=${1:?usage: json_schema.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
SCHEMA=$SRC/docs/schema/omnidex-v2.schema.json
SCHEMA1=$SRC/docs/schema/omnidex-v1.schema.json
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
python3 -c 'import jsonschema' 2>/dev/null ||
    { echo "FAIL python3 jsonschema missing (apt-get install python3-jsonschema)"; exit 1; }

# valid DEF FILE [lines]: FILE (or each of its lines) is a DEF of the schema
# (of version 1 with SCHEMA=$SCHEMA1)
valid() {
    python3 - "${SCHEMA_USE:-$SCHEMA}" "$1" "$2" "${3:-}" <<'EOF'
import json, sys, jsonschema
schema, name, path, lines = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
v = jsonschema.Draft202012Validator({"$ref": "#/$defs/" + name, "$defs": schema["$defs"]})
docs = [json.loads(l) for l in open(path) if l.strip()] if lines else [json.load(open(path))]
bad = [e.message for d in docs for e in v.iter_errors(d)]
for m in bad[:5]:
    print("   ", m)
sys.exit(1 if bad or not docs else 0)
EOF
}

mkdir -p "$T/imgs"
cp "$SRC/samples/table_cities.png" "$SRC/samples/bar_rainfall.png" "$T/imgs/"
cp "$SRC/samples/table_cities.png" "$T/imgs/copy.png"
cp "$SRC/samples/pie_fruit_zh.png" "$T/imgs/caf$(printf '\351').png" # not UTF-8
printf 'not a png' >"$T/imgs/broken.png"
"$BIN" --db "$T/db" index --no-detect --log-json "$T/imgs" >"$T/log.jsonl" 2>"$T/index.err"
check "index ran (exit 1: the broken file)" test $? -eq 1
grep -v '"event":"summary"' "$T/log.jsonl" >"$T/progress.jsonl"
grep '"event":"summary"' "$T/log.jsonl" >"$T/summary.json"
check "index --log-json progress lines" valid progress "$T/progress.jsonl" lines
check "index --log-json summary" valid summary "$T/summary.json"

cli() { # NAME DEF ARGS...: omnidex ARGS > NAME.json, checked against DEF
    local name=$1 def=$2
    shift 2
    "$BIN" --db "$T/db" "$@" >"$T/$name.json" 2>"$T/$name.err"
    check "$* is a $def" valid "$def" "$T/$name.json"
}
cli search search_cli search --json --explain "table of cities"
check "  ... with results, query and count" \
    jq -e '.query == "table of cities" and .count == (.results | length) and .count > 0' "$T/search.json"
cli filter search_cli search --json "domain:chart"
cli like similar_cli search --json --like "$T/imgs/table_cities.png"
check "  ... with results, similar_to the example's id" \
    jq -e --argjson id "$("$BIN" --db "$T/db" show --json "$T/imgs/table_cities.png" | jq .id)" \
    '.similar_to == $id and (has("like") | not) and .count == (.results | length) and .count > 0' "$T/like.json"
cp "$SRC/samples/bar_rainfall.png" "$T/outside.png"
cli fly similar_cli search --json -k 3 --like "$T/outside.png"
check "  ... a file not indexed: like is its path, no similar_to" \
    jq -e --arg p "$T/outside.png" '.like == $p and (has("similar_to") | not) and .count > 0' "$T/fly.json"
cli array results search --json-array --explain "table of cities"
check "  ... the same results as --json's" \
    sh -c "test \"\$(jq -c . '$T/array.json')\" = \"\$(jq -c .results '$T/search.json')\""
SCHEMA_USE=$SCHEMA1 cli array1 search_cli search --json-array --explain "table of cities"
"$BIN" --db "$T/db" context --json-array rainfall >/dev/null 2>"$T/ctxarr.err"
check "context --json-array is a usage error (exit 2)" test $? -eq 2
cli context context context --json "rainfall by month"
cli show show show --json "$T/imgs/table_cities.png"
check "  ... with copies and a description" jq -e '(.copies | length) == 2 and .description.domain == "table"' "$T/show.json"
cli latin1 show show --json "$T/imgs/caf$(printf '\351').png"
check "  ... the Latin-1 name has path_b64" jq -e '.path_b64 | length > 0' "$T/latin1.json"
cli failed show show --json "$T/imgs/broken.png"
check "  ... the failed file" jq -e '.status == "error" and .error_stage == "decode"' "$T/failed.json"
cli errors errors errors --json
cli stats stats stats --json
cli check check check --json
"$BIN" caption --json --no-detect "$T/imgs/bar_rainfall.png" >"$T/caption.json" 2>"$T/caption.err"
check "caption --json is a description" valid description "$T/caption.json"

# the schema refuses what breaks it
jq '.status = "maybe"' "$T/show.json" >"$T/bad1.json"
jq 'del(.results[0].score)' "$T/search.json" >"$T/bad2.json"
jq 'del(.query)' "$T/search.json" >"$T/bad4.json"
jq 'del(.similar_to)' "$T/like.json" >"$T/bad5.json"
jq '.domains = "all"' "$T/stats.json" >"$T/bad3.json"
for b in bad1:show bad2:search_cli bad3:stats bad4:search_cli bad5:similar_cli; do
    f=${b%%:*} d=${b#*:}
    if valid "$d" "$T/$f.json" >/dev/null; then
        echo "FAIL the schema accepts a broken $d ($f)"; fails=$((fails + 1))
    else
        echo "ok   the schema refuses a broken $d ($f)"
    fi
done

# HTTP
"$BIN" --db "$T/db" serve --port 0 2>"$T/serve.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
check "server starts" test -n "$PORT"
URL=http://127.0.0.1:$PORT
ID=$(jq -r .id "$T/show.json")
http() { # NAME DEF PATH
    curl -s --max-time 60 -o "$T/$1.json" "$URL$3"
    check "GET $3 is a $2" valid "$2" "$T/$1.json"
}
http hsearch search_http "/search?q=table%20of%20cities&explain=1"
check "  ... the object search --json prints, but for thumb_url and file_url" \
    sh -c "test \"\$(jq -cS 'del(.results[].thumb_url, .results[].file_url)' '$T/hsearch.json')\" = \"\$(jq -cS . '$T/search.json')\""
http hsimilar similar_http "/similar/$ID?k=3"
"$BIN" --db "$T/db" search --json -k 3 --like "#$ID" >"$T/like3.json"
check "  ... the object search --like #$ID --json prints, but for the URLs" \
    sh -c "test \"\$(jq -cS 'del(.results[].thumb_url, .results[].file_url)' '$T/hsimilar.json')\" = \"\$(jq -cS . '$T/like3.json')\""
http hcontext context "/context?q=rainfall&format=json"
http himage show "/images/$ID"
http hstats stats "/stats"
http herr http_error "/images/99999"
http herr2 http_error "/nowhere"
http herr3 http_error "/search?k=0&q=x"
echo "$fails failed"
exit $((fails > 0))
