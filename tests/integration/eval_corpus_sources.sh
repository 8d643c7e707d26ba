#!/usr/bin/env bash
# labels: integration
# The domain corpus builder (tests/eval/corpus/build.py) must not take any
# source of the private holdout set. Checked on its dry run (--list prints
# every source it would render, after its filter):
#  - it refuses to run without a holdout list;
#  - a made-up list naming the first source it would pick (with its page, if
#    a PDF page) makes it skip that source and say so; the same through a
#    symbolic link to that file (the list names the link, the builder the
#    target: compared after resolving links);
#  - the same for the first source of each kind it takes here (PDF and
#    HTML pages, xfig libraries, themes, fonts, licence texts);
#  - against the real list, none of its sources is listed (path, or path
#    and page), and Apache-2.0 (listed; the builder would render it) is not
#    among them;
#  - object_set.py (the labelled photographs of object_eval) applies the
#    same filter.
set -u
SRC=${ODX_SOURCE_DIR:?}
B=$SRC/tests/eval/corpus/build.py
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
: >"$T/empty.tsv"
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

ODX_HOLDOUT=/nonexistent $PY "$B" --list >"$T/none.out" 2>"$T/none.err"
check "builder refuses to run without a holdout list" test $? -ne 0
check "and lists nothing" test ! -s "$T/none.out"

ODX_HOLDOUT=$T/empty.tsv $PY "$B" --list >"$T/all0.out" 2>/dev/null
first=$(head -1 "$T/all0.out")
check "builder lists sources ($(echo "$first" | cut -f1,2))" test -n "$first"
pkg=$(echo "$first" | cut -f1); path=$(echo "$first" | cut -f2); page=$(echo "$first" | cut -f3)
printf '# made up\n%s\t%s\t%s\n' "$pkg" "$path" "$page" >"$T/holdout.tsv"
ODX_HOLDOUT=$T/holdout.tsv $PY "$B" --list >"$T/list.out" 2>"$T/list.err"
check "a listed source is not in --list" sh -c "! grep -qxF '$first' '$T/list.out'"
check "a listed source is refused with a message" grep -qF "refused: $pkg	$path" "$T/list.err"
check "other sources stay" test "$(wc -l <"$T/list.out")" -ge "$(($(wc -l <"$T/all0.out") - 1))"
ln -s "$path" "$T/link"
printf '# made up\n%s\t%s\t%s\n' "$pkg" "$T/link" "$page" >"$T/holdout2.tsv"
ODX_HOLDOUT=$T/holdout2.tsv $PY "$B" --list >"$T/list2.out" 2>/dev/null
check "a source listed through a symbolic link is not in --list" sh -c "! grep -qxF '$first' '$T/list2.out'"

# each kind of source the builder takes here (PDF pages, HTML pages, xfig
# symbol libraries, desktop themes, fonts, data files...): a made-up list
# naming the first of its kind makes the builder refuse that one; kinds
# whose tools or packages are missing here are not listed, and said so
for kind in '[.]pdf$' '[.]html?$' '/xfig/Libraries/' 'desktop-base' '/fonts/' 'common-licenses'; do
  src=$(awk -F'\t' -v k="$kind" '$2 ~ k { print; exit }' "$T/all0.out")
  if [ -z "$src" ]; then
    echo "note no source of kind $kind here"
    continue
  fi
  kp=$(echo "$src" | cut -f1); kpath=$(echo "$src" | cut -f2); kpage=$(echo "$src" | cut -f3)
  printf '# made up\n%s\t%s\t%s\n' "$kp" "$kpath" "$kpage" >"$T/kind.tsv"
  ODX_HOLDOUT=$T/kind.tsv $PY "$B" --list >"$T/kind.out" 2>"$T/kind.err"
  check "kind $kind: a listed source is not in --list ($kpath $kpage)" \
    sh -c "! grep -qxF '$src' '$T/kind.out'"
  check "kind $kind: and is refused with a message" grep -qF "refused: $kp	$kpath" "$T/kind.err"
done

# the real list: beside the checkout, or beside the main checkout of a worktree
H=${ODX_EVAL_DIR:-$SRC/../shared/eval}/holdout-sources.tsv
if [ ! -f "$H" ]; then
  common=$(git -C "$SRC" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
  [ -n "$common" ] && H=$(dirname "$common")/../shared/eval/holdout-sources.tsv
fi
if [ -f "$H" ]; then
  ODX_HOLDOUT=$H $PY "$B" --list >"$T/all.out" 2>"$T/all.err"
  n=$(wc -l <"$T/all.out")
  check "builder lists sources against the real list ($n)" test "$n" -gt 0
  # resolve links on both sides; a page entry holds out that page, a path entry the file
  awk -F'\t' '$1 !~ /^#/ && NF >= 2 { print $2 "\t" $3 }' "$H" | while IFS=$'\t' read -r p pg; do
    case "$p" in /*) p=$(realpath -m "$p") ;; esac
    printf '%s\t%s\n' "$p" "$pg"
  done | sort -u >"$T/held"
  cut -f2,3 "$T/all.out" | while IFS=$'\t' read -r p pg; do
    printf '%s\t%s\n%s\t\n' "$(realpath -m "$p")" "$pg" "$(realpath -m "$p")"
  done | sort -u | comm -12 - "$T/held" >"$T/both"
  check "none of the builder's sources is a holdout source: $(tr '\n' ' ' <"$T/both")" test ! -s "$T/both"
  check "Apache-2.0 (held out) is refused" grep -q "refused: base-files	/usr/share/common-licenses/Apache-2.0" "$T/all.err"
  check "Apache-2.0 is not listed" sh -c "! grep -q 'common-licenses/Apache-2.0' '$T/all.out'"
else
  echo "note holdout list not found ($H): checking that no corpus can be built without it"
  env -u ODX_HOLDOUT $PY "$B" --out "$T/nolist" >/dev/null 2>"$T/nolist.err"
  check "builder refuses without the real list (rc=$?)" test ! -d "$T/nolist"
  check "builder said why" grep -q "holdout list .* not found" "$T/nolist.err"
fi

# The labelled photographs of object_eval (tests/eval/object_set.py) pass the
# same filter: no run without a holdout list, a listed source refused with a
# message (before any file is read, so this holds without the packages), and
# against the real list none of the labels' sources refused.
OS=$SRC/tests/eval/object_set.py
ODX_HOLDOUT=/nonexistent $PY "$OS" --out "$T/os0" >/dev/null 2>&1
check "object_set refuses to run without a holdout list" test $? -ne 0
row=$(awk -F'\t' '$1 !~ /^#/ && $1 != "package" { print $1 "\t" $2; exit }' "$SRC/tests/eval/photo_objects.tsv")
printf '# made up\n%s\n' "$row" >"$T/os_holdout.tsv"
ODX_HOLDOUT=$T/os_holdout.tsv $PY "$OS" --out "$T/os1" >/dev/null 2>"$T/os1.err"
check "object_set refuses a listed source with a message" grep -qF "refused: $(echo "$row" | cut -f2) (holdout source)" "$T/os1.err"
if [ -f "$H" ]; then
  ODX_HOLDOUT=$H $PY "$OS" --out "$T/os2" >/dev/null 2>"$T/os2.err"
  check "object_set refuses none of the labels' sources against the real list" \
    grep -q " 0 refused)" "$T/os2.err"
fi
echo "$fails failed"
test $fails -eq 0
