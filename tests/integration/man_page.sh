#!/usr/bin/env bash
# labels: integration
# docs/omnidex.1 stays true to the binary: every command listed by
# 'omnidex --help' has its section, and every flag printed by
# 'omnidex --help' or 'omnidex COMMAND --help' appears in the page.
set -u
BIN=${1:?usage: man_page.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
MAN=$SRC/docs/omnidex.1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
[ -r "$MAN" ] || { echo "FAIL no $MAN"; exit 1; }
# The page's text with roff escapes for '-' and fonts removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$MAN" >"$T/man.txt"

"$BIN" --help >"$T/main.help" 2>&1
cmds=$(awk '/^Commands:/{f=1; next} f && /^  [a-z]/{print $1} f && /^$/{f=0}' "$T/main.help")
check "the main help lists commands" test -n "$cmds"
flags() { # the flags a help text prints: --long and -x
  grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-zA-Z-]*' "$1" | sed -E 's/^[ ,[]//' \
    | grep -vE -- '^-[a-zA-Z]{2,}$' | sort -u
}
for f in $(flags "$T/main.help"); do
  check "main flag $f in the page" grep -qF -- "$f" "$T/man.txt"
done
n=0
for c in $cmds; do
  check "command $c has a section" grep -qE "^\.SS \"$c( |\")" "$T/man.txt"
  "$BIN" "$c" --help >"$T/$c.help" 2>&1
  for f in $(flags "$T/$c.help"); do
    n=$((n + 1))
    check "$c flag $f in the page" grep -qF -- "$f" "$T/man.txt"
  done
done
check "command flags were found ($n)" test "$n" -gt 40

if [ $fails -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all ok"
