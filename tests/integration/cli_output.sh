#!/usr/bin/env bash
# labels: integration
# Output safety. JSON: every JSON output (search/context/errors/show/
# caption/stats --json, search --like's example, index --log-json) is valid UTF-8 JSON even when file
# names are not UTF-8, and each path that is not UTF-8 comes with a
# path_b64 that decodes to its real bytes. Text: file names with ESC [31m,
# CR and newlines, and error reasons, are printed with their control
# characters escaped, never raw.
set -u
BIN=${1:?usage: cli_output.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

I=$T/imgs
mkdir -p "$I"
BAD=$(printf 'bad\377\376name.png')              # not UTF-8
ESCN=$(printf 'esc\033[31mred\rcr\nnl.png')       # ESC, CR, LF
BROKEN=$(printf 'broken\033]0;pwned\007\377.png') # OSC title + BEL + bad byte
cp "$SRC/samples/bar_rainfall.png" "$I/$BAD"
cp "$SRC/samples/pie_fruit_zh.png" "$I/$ESCN"
printf 'not a png at all' >"$I/$BROKEN"
# the database directory's name is not UTF-8 either (stats --json db_dir)
DB=$T/$(printf 'db\377')

"$BIN" --db "$DB" index --log-json --no-detect "$I" >"$T/log.json" 2>"$T/index.err"
rc=$?
check "index with one broken file exits 1 (rc=$rc)" test $rc -eq 1

# jsonok FILE [lines]: strict UTF-8, valid JSON (one document or one per
# line); every X_b64 decodes to bytes whose U+FFFD-repaired form is X, and
# (given NAMES) names one of the real file names. Prints how many b64 fields.
cat >"$T/jsonok.py" <<'PYEOF'
import base64, json, os, sys
path, mode = sys.argv[1], sys.argv[2]
names = [os.fsencode(n) for n in os.listdir(sys.argv[3])] if len(sys.argv) > 3 else None
raw = open(path, 'rb').read()
text = raw.decode('utf-8')  # strict: raises on a raw invalid byte
docs = [json.loads(l) for l in text.splitlines() if l.strip()] if mode == 'lines' else [json.loads(text)]
n_b64 = 0
def walk(v):
    global n_b64
    if isinstance(v, dict):
        for k, x in v.items():
            if k.endswith('_b64') and x is not None:
                plain = v[k[:-4]]
                items = zip(plain, x) if isinstance(x, list) else [(plain, x)]
                for p, b in items:
                    if b is None:
                        continue
                    real = base64.b64decode(b, validate=True)
                    assert real.decode('utf-8', 'replace') == p, (real, p)
                    try:
                        real.decode('utf-8')
                        raise AssertionError('b64 given for a UTF-8 path %r' % p)
                    except UnicodeDecodeError:
                        pass
                    if names is not None and 'db' not in k:
                        assert os.path.basename(real) in names, real
                    n_b64 += 1
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
for d in docs:
    walk(d)
print(n_b64)
PYEOF
jsonok() { python3 "$T/jsonok.py" "$@" 2>"$T/py.err"; }
nb() { [ "$(jsonok "$@")" -ge 1 ]; }

check "--log-json: valid UTF-8 JSON lines, path_b64 decodes to the names" nb "$T/log.json" lines "$I"
check "--log-json: the broken file's error event has a path_b64" \
  python3 -c 'import json,sys; ev=[json.loads(l) for l in open(sys.argv[1],encoding="utf-8")]; assert any(e["event"]=="error" and "path_b64" in e for e in ev)' "$T/log.json"
check "--log-json: summary says partial, not ok" \
  python3 -c 'import json,sys; ev=[json.loads(l) for l in open(sys.argv[1],encoding="utf-8")]; s=[e for e in ev if e["event"]=="summary"][0]; assert s["status"]=="partial" and s["failed"]==1, s' "$T/log.json"

"$BIN" --db "$DB" search --json -k 10 chart >"$T/search.json"
check "search --json: valid, path_b64 decodes to the name" nb "$T/search.json" doc "$I"
check "search --json: the ESC name is kept exactly (JSON-escaped)" \
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1],encoding="utf-8")); assert any(x["path"].endswith("esc\x1b[31mred\rcr\nnl.png") and "path_b64" not in x for x in r["results"])' "$T/search.json"
mkdir -p "$T/out" && cp "$SRC/samples/bar_rainfall.png" "$T/out/$BAD"
"$BIN" --db "$DB" search --json -k 3 --like "$T/out/$BAD" >"$T/like.json"
check "search --like FILE --json: like_b64 decodes to the example's name" nb "$T/like.json" doc "$T/out"
check "  ... and is there" python3 -c 'import json,sys; d=json.load(open(sys.argv[1],encoding="utf-8")); assert "like_b64" in d and "\ufffd" in d["like"], d' "$T/like.json"
"$BIN" --db "$DB" context --json chart >"$T/context.json"
check "context --json: valid, path_b64 decodes to the name" nb "$T/context.json" doc "$I"
"$BIN" --db "$DB" errors --json >"$T/errors.json"
check "errors --json: valid, path_b64 decodes to the broken file" nb "$T/errors.json" doc "$I"
"$BIN" --db "$DB" show --json "$I/$BAD" >"$T/show.json"
check "show --json of the non-UTF-8 name: valid, path_b64 and copies_b64" \
  test "$(jsonok "$T/show.json" doc "$I")" -ge 2
"$BIN" caption --json --no-ocr --no-detect "$I/$BAD" >"$T/caption.json"
check "caption --json: valid, path_b64 decodes to the name" nb "$T/caption.json" doc "$I"
"$BIN" --db "$DB" stats --json >"$T/stats.json"
check "stats --json: valid, db_dir_b64 for a non-UTF-8 database directory" nb "$T/stats.json" doc

# text output: no raw ESC/CR/BEL, no name split over two lines
noraw() { ! LC_ALL=C grep -q "$(printf '[\033\r\007]')" "$1"; }
"$BIN" --db "$DB" search -k 10 chart >"$T/search.txt" 2>&1
check "search text: no raw control characters" noraw "$T/search.txt"
check "search text: the ESC name shows escaped on one line" \
  grep -qF 'esc\x1b[31mred\x0dcr\x0anl.png' "$T/search.txt"
check "search text: the non-UTF-8 name shows its bytes" grep -qF 'bad\xff\xfename.png' "$T/search.txt"
check "search text: one line per result" test "$(wc -l <"$T/search.txt")" -eq 2
"$BIN" --db "$DB" context chart >"$T/context.md" 2>&1
check "context Markdown: no raw control characters" noraw "$T/context.md"
check "context Markdown: the ESC name shows escaped" grep -qF 'esc\x1b[31mred' "$T/context.md"
"$BIN" --db "$DB" errors >"$T/errors.txt" 2>&1
check "errors text: no raw control characters" noraw "$T/errors.txt"
check "errors text: the OSC name shows escaped, its bad byte as itself" \
  grep -qF 'broken\x1b]0;pwned\x07\xff.png' "$T/errors.txt"
"$BIN" --db "$DB" index --retry-errors --no-detect "$I" >/dev/null 2>"$T/index2.err"
check "index stderr: the failure line has no raw control characters" noraw "$T/index2.err"
check "index stderr: names the broken file, escaped" grep -qF 'broken\x1b]0;pwned\x07\xff.png' "$T/index2.err"
"$BIN" --db "$DB" show "$I/$ESCN" >"$T/show.txt" 2>&1
check "show text: no raw control characters" noraw "$T/show.txt"
check "show text: the ESC name shows escaped" grep -qF 'esc\x1b[31mred\x0dcr\x0anl.png' "$T/show.txt"
"$BIN" --db "$DB" show "$I/$BAD" >"$T/show2.txt" 2>&1
check "show text: the non-UTF-8 name shows its bytes" grep -qF 'bad\xff\xfename.png' "$T/show2.txt"
"$BIN" --db "$DB" show "$T/$(printf 'gone\033[2J.png')" >/dev/null 2>"$T/show.err"
check "show: an unknown name in the error message is escaped" \
  sh -c "grep -qF 'gone\\x1b[2J.png' '$T/show.err' && ! LC_ALL=C grep -q \"\$(printf '\\033')\" '$T/show.err'"
"$BIN" --db "$DB" search --domain "$(printf 'x\033[31m')" chart >/dev/null 2>"$T/flag.err"
check "a bad flag value is echoed escaped" \
  sh -c "grep -qF 'x\\x1b[31m' '$T/flag.err' && ! LC_ALL=C grep -q \"\$(printf '\\033')\" '$T/flag.err'"
echo "$fails failed"
test $fails -eq 0
