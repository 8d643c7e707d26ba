#!/usr/bin/env bash
# oov_set.sh - the out-of-vocabulary check of issue 14: 84 stamps of
# Debian's tuxpaint-stamps-default (tests/eval/oov_images.tsv; 30 targets,
# 54 distractors) and 60 queries naming the targets with words no hand
# lexicon entry or caption had (tests/eval/oov_queries.tsv). Builds an eval
# set in score.py's layout, indexes it and scores it. Not a test: prints
# numbers. The images are another package's files: never commit them.
#
# usage: tests/eval/oov_set.sh [DEST] [BUILD_DIR]   (default DEST /tmp/oov)
# STAMPS=dir uses an unpacked stamps folder; otherwise /usr/share/tuxpaint/
# stamps, else the package is fetched with apt-get download and unpacked.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=${1:-/tmp/oov}
BUILD=${2:-$ROOT/build}
HOLDOUT=${ODX_HOLDOUT:-$ROOT/../shared/eval/holdout-sources.tsv}
COMMON=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
if [ ! -f "$HOLDOUT" ] && [ -n "$COMMON" ]; then
  HOLDOUT=$(dirname "$COMMON")/../shared/eval/holdout-sources.tsv
fi
SCORE=$(dirname "$HOLDOUT")/score.py
[ -f "$HOLDOUT" ] || { echo "oov_set: holdout list not found ($HOLDOUT)" >&2; exit 1; }
STAMPS=${STAMPS:-/usr/share/tuxpaint/stamps}
if [ ! -d "$STAMPS" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download tuxpaint-stamps-default >/dev/null 2>&1 &&
     dpkg-deb -x tuxpaint-stamps-default_*.deb x) ||
    { echo "oov_set: cannot fetch tuxpaint-stamps-default" >&2; exit 1; }
  STAMPS=$tmp/x/usr/share/tuxpaint/stamps
fi
rm -rf "$DEST"
mkdir -p "$DEST/images"
printf 'file\tdomain\tchart_type\tlanguage\tdescription\tkey_text\tprovenance\n' >"$DEST/manifest.tsv"
grep -v '^#' "$ROOT/tests/eval/oov_images.tsv" | while IFS=$'\t' read -r id rel; do
  src=/usr/share/tuxpaint/stamps/$rel
  if awk -F'\t' -v p="$src" '$2 == p { f = 1 } END { exit !f }' "$HOLDOUT"; then
    echo "oov_set: $id refused: $src is a holdout source" >&2
    continue
  fi
  cp "$STAMPS/$rel" "$DEST/images/$id.png"
  printf '%s.png\tphoto\t-\tnone\t%s\t-\ttuxpaint-stamps-default:%s\n' "$id" "$rel" "$src" >>"$DEST/manifest.tsv"
done
grep -v '^#' "$ROOT/tests/eval/oov_queries.tsv" >"$DEST/queries.tsv"
DB=$DEST/db
"$BUILD/omnidex" --db "$DB" index --quiet "$DEST/images" || true
python3 "$SCORE" "$DEST" "$BUILD/omnidex --db $DB search --json -k 10 {query}" --jobs 2 --misses "$DB.misses.tsv"
