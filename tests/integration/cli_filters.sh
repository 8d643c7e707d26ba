#!/usr/bin/env bash
# labels: integration
# One parser for search filters: CLI flags (search and context), the same
# filters written inline in the query, and HTTP arguments accept and refuse
# the same values, with the same message; bad values exit 2 everywhere and
# never pass silently. Dates must be real calendar days; file sizes
# (--min-size/--max-size, minsize:/maxsize:, min_size/max_size) bytes or
# K/M/G, both bounds included.
set -u
BIN=${1:?usage: cli_filters.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
T=$(mktemp -d)
SRV_PID=
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; rm -rf "$T"' EXIT
DB=$T/db
fails=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

"$BIN" --db "$DB" index --quiet --no-detect "$SRC/samples" >"$T/index.out" 2>&1
check "index of the samples exits 0" test $? -eq 0

# run NAME ARGS...: stdout in $T/NAME.out, stderr in $T/NAME.err, rc in $T/NAME.rc
run() {
  local name=$1; shift
  "$BIN" --db "$DB" "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
# the message without the 'omnidex CMD: ' prefix and the 'Try' line
msg_of() { head -n1 "$T/$1.err" | sed 's/^omnidex [a-z]*: //'; }

# flag, inline word, expected text in the message
bad=(
  "--domain bogus|domain:bogus|unknown domain 'bogus' (one of: photo, document, table, chart, screenshot, poster, diagram)"
  "--after notadate|after:notadate|bad date 'notadate' for after"
  "--after 2024-13-45|after:2024-13-45|month 13 does not exist"
  "--after 2024-02-30|after:2024-02-30|February 2024 has 29 days"
  "--before 2023-02-29|before:2023-02-29|February 2023 has 28 days"
  "--before 1900-02-29|before:1900-02-29|February 1900 has 28 days"
  "--text-lang fr|lang:fr|unknown text language 'fr'"
  "--min-width -3|minw:-3|bad min-width '-3'"
  "--min-height 10x|minh:10x|bad min-height '10x'"
  "--min-size 5Q|minsize:5Q|bad min-size '5Q' (a file size in bytes, or with a unit"
  "--max-size 1.5|maxsize:1.5|bad max-size '1.5'"
)
i=0
for c in "${bad[@]}"; do
  IFS='|' read -r flag word want <<<"$c"
  i=$((i + 1))
  # shellcheck disable=SC2086
  run "f$i" search $flag rainfall
  run "q$i" search "$word rainfall"
  # shellcheck disable=SC2086
  run "c$i" context $flag rainfall
  check "search $flag exits 2 (rc=$(rc_of f$i))" test "$(rc_of f$i)" -eq 2
  check "search '$word' exits 2 (rc=$(rc_of q$i))" test "$(rc_of q$i)" -eq 2
  check "context $flag exits 2 (rc=$(rc_of c$i))" test "$(rc_of c$i)" -eq 2
  check "search $flag says: $want" grep -qF -- "$want" "$T/f$i.err"
  check "  ... and the inline '$word' says the same" test "$(msg_of f$i)" = "$(msg_of q$i)"
  check "  ... and nothing was printed on stdout" test ! -s "$T/f$i.out"
done

# valid filters: flag and inline give the same results
good=(
  "--domain chart|domain:chart"
  "--domain CHART|domain:Chart"
  "--after 2000-02-29|after:2000-02-29"
  "--before 2000-01|before:2000-01"
  "--ext .png|ext:png"
  "--min-width 100|minw:100"
  "--path bar_|path:bar_"
  "--min-size 30K|minsize:30K"
  "--max-size 24351|maxsize:24351B"
)
i=0
for c in "${good[@]}"; do
  IFS='|' read -r flag word <<<"$c"
  i=$((i + 1))
  # shellcheck disable=SC2086
  run "gf$i" search --json -k 10 $flag chart
  run "gq$i" search --json -k 10 "$word chart"
  check "search $flag exits 0 (rc=$(rc_of gf$i))" test "$(rc_of gf$i)" -eq 0
  check "search '$word' exits 0 (rc=$(rc_of gq$i))" test "$(rc_of gq$i)" -eq 0
  check "  ... same results for $flag and '$word'" \
    test "$(jq -c '[.results[].path]' "$T/gf$i.out")" = "$(jq -c '[.results[].path]' "$T/gq$i.out")"
done
check "--domain chart keeps only charts" jq -e '.count > 0 and all(.results[]; .domain == "chart")' "$T/gf1.out"
check "--before 2000-01 filters everything out (files are new)" jq -e '.count == 0 and .results == []' "$T/gf4.out"
check "--path bar_ keeps the bar chart only" jq -e '.count == 1 and (.results[0].path | test("bar_rainfall"))' "$T/gf7.out"
# the samples are 17949 (bar), 22857 (scatter), 24351 (pie), 25382 (poster),
# 31409 (table), 35030 (line) and 74511 (document) bytes
check "--min-size 30K keeps the files of 30720 bytes and more: table, line, document" \
  jq -e '[.results[].size] | sort == [31409, 35030, 74511]' "$T/gf8.out"
check "--max-size 24351 keeps the pie chart of exactly that size, not the line chart" \
  jq -e 'any(.results[]; .size == 24351) and all(.results[]; .size <= 24351) and .count >= 3' "$T/gf9.out"
run sz search --json -k 10 --min-size 20000 --max-size 24K chart
check "--min-size 20000 --max-size 24K: the scatter plot and the pie chart only" \
  jq -e '[.results[].size] | sort == [22857, 24351]' "$T/sz.out"
run szx search --min-size 2M "maxsize:1M chart"
check "--min-size above an inline maxsize: exit 2" test "$(rc_of szx)" -eq 2
check "  ... saying why" grep -qF "max-size (1048576 bytes) is below min-size (2097152 bytes)" "$T/szx.err"

# other flags go through the same parser
run k0 search -k 0 rainfall
check "-k 0 exits 2" test "$(rc_of k0)" -eq 2
run ms search --min-score 2 rainfall
check "--min-score 2 exits 2" test "$(rc_of ms)" -eq 2
run lg search --lang fr rainfall
check "--lang fr exits 2" test "$(rc_of lg)" -eq 2
run wd search --w-dense x rainfall
check "--w-dense x exits 2" test "$(rc_of wd)" -eq 2

# HTTP: the same values are refused with the same message
"$BIN" --db "$DB" serve --port 0 2>"$T/serve.err" &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
  PORT=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$T/serve.err" | head -n1)
  [ -n "$PORT" ] && break
  kill -0 "$SRV_PID" 2>/dev/null || break
  sleep 0.1
done
check "server printed its port" test -n "$PORT"
if [ -n "$PORT" ]; then
  URL=http://127.0.0.1:$PORT
  http() { # http NAME QUERY-STRING: body in $T/NAME.body, status printed
    curl -s -o "$T/$1.body" -w '%{http_code}' --max-time 60 "$URL/search?$2"
  }
  code=$(http h1 "q=rainfall&domain=bogus")
  check "HTTP domain=bogus -> 400 (got $code)" test "$code" = 400
  check "  ... same message as the flag" \
    test "$(jq -r .message "$T/h1.body")" = "$(msg_of f1)"
  code=$(http h2 "q=rainfall&after=2024-02-30")
  check "HTTP after=2024-02-30 -> 400 (got $code)" test "$code" = 400
  check "  ... same message as the flag" \
    test "$(jq -r .message "$T/h2.body")" = "$(msg_of f4)"
  code=$(http h3 "q=after:2024-02-30%20rainfall")
  check "HTTP inline after:2024-02-30 -> 400 (got $code)" test "$code" = 400
  check "  ... same message as the flag" \
    test "$(jq -r .message "$T/h3.body")" = "$(msg_of f4)"
  code=$(http h5 "q=rainfall&min_size=5Q")
  check "HTTP min_size=5Q -> 400 (got $code)" test "$code" = 400
  check "  ... same message as the flag" \
    test "$(jq -r .message "$T/h5.body")" = "$(msg_of f10)"
  code=$(http h6 "q=chart&min_size=20000&max_size=24K&k=10")
  check "HTTP min_size=20000&max_size=24K -> 200 (got $code)" test "$code" = 200
  check "  ... same results as the flags" \
    test "$(jq -c '[.results[].path]' "$T/h6.body")" = "$(jq -c '[.results[].path]' "$T/sz.out")"
  code=$(http h7 "q=chart&min_size=2M&max_size=1M")
  check "HTTP max_size below min_size -> 400 (got $code)" test "$code" = 400
  code=$(curl -s -o "$T/h8.body" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' \
    --data '{"question": "which chart?", "min_size": "5Q"}' "$URL/ask")
  check "POST /ask {min_size: 5Q} -> 400 with the same message (got $code)" \
    sh -c "test '$code' = 400 && test \"\$(jq -r .message '$T/h8.body')\" = \"$(msg_of f10)\""
  code=$(http h4 "q=chart&domain=chart&k=10")
  check "HTTP domain=chart -> 200 (got $code)" test "$code" = 200
  check "  ... same results as --domain chart" \
    test "$(jq -c '[.results[].path]' "$T/h4.body")" = "$(jq -c '[.results[].path]' "$T/gf1.out")"
fi
echo "$fails failed"
test $fails -eq 0
