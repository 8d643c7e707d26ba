#!/bin/bash
# detect_eval.sh - compares the native NanoDet detector (captioner/detect.c)
# with the JavaScript oracle (shared/oracle/nanodet_oracle.js) on the dev
# photos: same label set per image at threshold 0.3. Prints a table and
# exits 1 on any mismatch. Not a ctest test: it needs node + npm (the
# oracle's pure-JS TF.js) and takes ~10 s per image for the oracle.
# Usage: tests/eval/detect_eval.sh [BUILD_DIR] [IMAGE...]
#   BUILD_DIR: a configured build with odx_captioner built (default: build)
#   IMAGE...: default: every photo of ../shared/eval/dev (manifest domain)
# Env: OMNIDEX_MODELS (default ./models), ORACLE_DIR (reuse an installed
# oracle), DET_MIN (threshold, default 0.3), ORACLE_OUT (reuse oracle JSON).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
eval_dir=${ODX_EVAL_DIR:-$src/../shared/eval}
models=${OMNIDEX_MODELS:-$src/models}
min=${DET_MIN:-0.3}
[ -f "$models/nanodet.json" ] || { echo "no model in $models: run scripts/fetch_models.sh" >&2; exit 2; }
lib=$build/captioner/libodx_captioner.a
[ -f "$lib" ] || { echo "build odx_captioner first: cmake --build $build --target odx_captioner" >&2; exit 2; }

if [ $# -gt 0 ]; then
    images=("$@")
else
    mapfile -t images < <(awk -F'\t' -v d="$eval_dir/dev/images" '$2=="photo"{print d"/"$1}' "$eval_dir/dev/manifest.tsv")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the native tool, linked against the build's static libraries
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$src/include" -I"$src/core" \
   -I"$src/captioner" "$src/tests/eval/detect_tool.c" "$lib" "$build/core/libodx_core.a" \
   $(pkg-config --libs libcjson libpng16 libjpeg libexif tesseract lept openblas) -lm -lpthread \
   -o "$work/detect_tool"
OPENBLAS_NUM_THREADS=1 "$work/detect_tool" "$models" --min "$min" "${images[@]}" > "$work/native.jsonl"

# the oracle (pure-JS TF.js) in its own folder
if [ -n "${ORACLE_OUT:-}" ]; then
    cp "$ORACLE_OUT" "$work/oracle.jsonl"
else
    od=${ORACLE_DIR:-$work/oracle}
    if [ ! -d "$od/node_modules/@tensorflow/tfjs" ]; then
        mkdir -p "$od" && cp "$eval_dir/../oracle/"* "$od/"
        (cd "$od" && npm install --silent >/dev/null 2>&1) || { echo "npm install failed" >&2; exit 2; }
    fi
    (cd "$od" && node nanodet_oracle.js "$models/nanodet.json" "${images[@]}" --min "$min" 2>/dev/null) > "$work/oracle.jsonl"
fi

labels() { # file -> "label xN, ..." sorted
    jq -r --arg f "$2" 'select(.file==$f) | [.dets[].label] | group_by(.) | map("\(.[0])x\(length)") | join(",")' "$1"
}
labelset() {
    jq -r --arg f "$2" 'select(.file==$f) | [.dets[].label] | unique | join(",")' "$1"
}
n=0; same=0; exact=0
printf '%-10s %-32s %-32s %s\n' file oracle native same-set
for img in "${images[@]}"; do
    f=$(basename "$img")
    o=$(labelset "$work/oracle.jsonl" "$f"); m=$(labelset "$work/native.jsonl" "$f")
    oc=$(labels "$work/oracle.jsonl" "$f"); mc=$(labels "$work/native.jsonl" "$f")
    n=$((n + 1))
    ok=no; [ "$o" = "$m" ] && { ok=yes; same=$((same + 1)); }
    [ "$oc" = "$mc" ] && exact=$((exact + 1))
    printf '%-10s %-32s %-32s %s\n' "$f" "${oc:--}" "${mc:--}" "$ok"
done
ms=$(jq -s 'map(.ms) | add / length | floor' "$work/native.jsonl")
echo "images: $n  same label set: $same/$n  same labels+counts: $exact/$n  native ms/image (decode excluded): $ms  threshold: $min"
[ "$same" -eq "$n" ]
