#!/usr/bin/env bash
# Indexes an evaluation set and scores retrieval with ../shared/eval/score.py:
# hybrid, dense only and lexical only. Not a test: prints numbers.
# Usage: tests/eval/retrieval.sh [SET_DIR] [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SET=${1:-$ROOT/../shared/eval/dev}
BUILD=${2:-$ROOT/build}
BIN=$BUILD/omnidex
DB=${EVAL_DB:-$(mktemp -d)/db}
SCORE=$(dirname "$SET")/score.py
echo "== index $SET/images into $DB"
/usr/bin/time -f "index wall %e s, max RSS %M KB" "$BIN" --db "$DB" index --quiet "$SET/images" || true
"$BIN" --db "$DB" stats
for mode in "" "--dense-only" "--lexical-only"; do
  echo "== search ${mode:-hybrid}"
  python3 "$SCORE" "$SET" "$BIN --db $DB search --json -k 10 $mode {query}" --jobs 2 --misses "$DB.misses.tsv"
done
