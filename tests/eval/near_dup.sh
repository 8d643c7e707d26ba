#!/usr/bin/env bash
# Near-duplicate retrieval by example (issue 17): the first N images of an
# eval set, each copied three ways with ImageMagick (JPEG quality 60; resized
# to 50%; cropped to the central 90%), indexed together with the whole set;
# then `omnidex search --like COPY` for every copy: is its original at rank 1?
# Three counts: strict (the copy's two sibling copies compete, they are
# near-duplicates too), siblings left out of the ranking, and that with an
# original of the same picture (another file whose pixels match ours to
# RMSE < 1% at 256 x 256 grey: a corpus can hold one logo from two
# packages) counting as the original. Not a test:
# prints numbers. Usage: tests/eval/near_dup.sh [SET_DIR] [BUILD_DIR] [N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SET=${1:-$ROOT/../shared/eval/dev}
BUILD=${2:-$ROOT/build}
N=${3:-100}
BIN=$BUILD/omnidex
W=${EVAL_DIR:-$(mktemp -d)}
mapfile -t ALL < <(ls "$SET/images" | sort)
PICK=("${ALL[@]:0:$N}")
echo "== $((${#PICK[@]} * 3)) copies of ${#PICK[@]} of ${#ALL[@]} images from $SET in $W"
if [ ! -d "$W/db" ]; then # an EVAL_DIR indexed before is reused
    mkdir -p "$W/imgs/orig" "$W/imgs/copies"
    for f in "${ALL[@]}"; do cp "$SET/images/$f" "$W/imgs/orig/"; done
    for f in "${PICK[@]}"; do
        b=${f%.*} e=${f##*.}
        convert "$SET/images/$f" -background white -flatten -quality 60 "$W/imgs/copies/$b.q60.jpg"
        convert "$SET/images/$f" -resize 50% "$W/imgs/copies/$b.half.$e"
        convert "$SET/images/$f" -gravity center -crop 90%x90%+0+0 +repage "$W/imgs/copies/$b.crop.$e"
    done 2>/dev/null
    /usr/bin/time -f "index wall %e s" "$BIN" --db "$W/db" index --quiet "$W/imgs" || true
fi
declare -A strict excl twin total
for f in "${PICK[@]}"; do
    b=${f%.*} e=${f##*.}
    for v in q60 half crop; do
        case $v in q60) c=$b.q60.jpg ;; *) c=$b.$v.$e ;; esac
        paths=$("$BIN" --db "$W/db" search --like "$W/imgs/copies/$c" -k 20 --json |
            jq -r '.results[].path' | sed 's|.*/imgs/||')
        total[$v]=$((${total[$v]:-0} + 1))
        first=${paths%%$'\n'*}
        first_other=$(printf '%s\n' "$paths" | awk -v b="copies/$b." 'index($0, b) != 1 { print; exit }')
        [ "$first" = "orig/$f" ] && strict[$v]=$((${strict[$v]:-0} + 1))
        if [ "$first_other" = "orig/$f" ]; then
            excl[$v]=$((${excl[$v]:-0} + 1))
            twin[$v]=$((${twin[$v]:-0} + 1))
        else
            # the first is another image's original or copy: is that
            # original the same picture as ours (one file shipped by two
            # packages)? RMSE of both at 256 x 256 grey under 1%
            ob=${first_other#*/}
            ob=${ob%%.*}
            o2=$(ls "$W/imgs/orig/$ob".* 2>/dev/null | head -1)
            same=""
            if [ -n "$o2" ]; then
                rmse=$(convert \( "$SET/images/$f" -background white -flatten -colorspace Gray -resize '256x256!' \) \
                    \( "$o2" -background white -flatten -colorspace Gray -resize '256x256!' \) \
                    -metric RMSE -compare -format "%[distortion]" info: 2>/dev/null || true)
                if [ -n "$rmse" ] && awk -v e="$rmse" 'BEGIN { exit !(e < 0.01) }'; then same=1; fi
            fi
            if [ -n "$same" ]; then
                twin[$v]=$((${twin[$v]:-0} + 1))
                echo "twin $v $c: first $first_other, the same picture as orig/$f"
            else
                echo "miss $v $c: first ${first_other:-none}"
            fi
        fi
    done
done
for v in q60 half crop; do
    printf '%-5s n %3d  original at rank 1: strict %3d (%.3f)  siblings left out %3d (%.3f)  the same picture from another file counting %3d (%.3f)\n' "$v" \
        "${total[$v]}" "${strict[$v]:-0}" "$(echo "${strict[$v]:-0} / ${total[$v]}" | bc -l)" \
        "${excl[$v]:-0}" "$(echo "${excl[$v]:-0} / ${total[$v]}" | bc -l)" \
        "${twin[$v]:-0}" "$(echo "${twin[$v]:-0} / ${total[$v]}" | bc -l)"
done
