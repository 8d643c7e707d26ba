#!/usr/bin/env bash
# labels: integration
# Eval corpora built here must not take sources of the private holdout set:
# tests/eval/field_set.sh refuses a holdout-listed file (checked with a
# made-up list naming one of its sources) and, against the real list, none
# of the sources it would copy or render is listed (grace_hopper.jpg and the
# Apache-2.0/MPL-2.0 pages once were).
set -u
SRC=${ODX_SOURCE_DIR:?}
FS=$SRC/tests/eval/field_set.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
: >"$T/empty.tsv"
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

# the guard itself: a list naming a source the field set would copy
ODX_HOLDOUT=/nonexistent sh "$FS" --list >"$T/none.out" 2>"$T/none.err"
check "field_set refuses to run without a holdout list" test $? -ne 0
first=$(ODX_HOLDOUT=$T/empty.tsv sh "$FS" --list 2>/dev/null | head -1)
check "field_set lists sources ($first)" test -n "$first"
printf '# made up\npkg\t%s\n' "$first" >"$T/holdout.tsv"
ODX_HOLDOUT=$T/holdout.tsv sh "$FS" --list >"$T/list.out" 2>"$T/list.err"
check "a listed source is not in --list" sh -c "! grep -qxF '$first' '$T/list.out'"
check "a listed source is refused with a message" grep -q "refused: $first is a holdout source" "$T/list.err"
ODX_HOLDOUT=$T/holdout.tsv sh "$FS" "$T/field" >/dev/null 2>"$T/copy.err"
check "a listed source is not copied" sh -c "! grep -qF '$first' '$T/field/manifest.tsv'"

# the real list: beside the checkout, or beside the main checkout of a worktree
H=${ODX_EVAL_DIR:-$SRC/../shared/eval}/holdout-sources.tsv
if [ ! -f "$H" ]; then
  common=$(git -C "$SRC" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
  [ -n "$common" ] && H=$(dirname "$common")/../shared/eval/holdout-sources.tsv
fi
if [ -f "$H" ]; then
  ODX_HOLDOUT=$T/empty.tsv sh "$FS" --list >"$T/all.out" 2>/dev/null
  n=$(wc -l <"$T/all.out")
  awk -F'\t' '$1 !~ /^#/ { print $2 }' "$H" | sort -u >"$T/held"
  sort -u "$T/all.out" | comm -12 - "$T/held" >"$T/both"
  check "none of the $n field-set sources is a holdout source: $(tr '\n' ' ' <"$T/both")" test ! -s "$T/both"
  check "grace_hopper.jpg is not in the field set" sh -c "! grep -q grace_hopper '$T/all.out'"
else
  # No list on this machine (a checkout without ../shared): then no field
  # set can be built here at all. Check that the script, left to find the
  # list itself, refuses and copies nothing.
  echo "note holdout list not found ($H): checking that no field set can be built without it"
  env -u ODX_HOLDOUT sh "$FS" "$T/nolist" >/dev/null 2>"$T/nolist.err"
  rc=$?
  check "field_set refuses to build without the real list (rc=$rc)" test $rc -ne 0
  check "field_set said why" grep -q "holdout list .* not found" "$T/nolist.err"
  check "field_set copied nothing" sh -c "! ls '$T/nolist' 2>/dev/null | grep -q ."
fi
echo "$fails failed"
test $fails -eq 0
