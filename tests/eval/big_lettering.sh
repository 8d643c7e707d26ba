#!/usr/bin/env bash
# Big lettering by construction (issue 12): 40 country names from Debian's
# iso-codes (iso_3166-1: the English name, and its zh_CN translation) drawn
# with ImageMagick at display sizes (90-280 pt) in DejaVu and WenQuanYi
# fonts on five colour pairs; the key text of each image is the drawn name.
# Writes SET_DIR/images and SET_DIR/manifest.tsv in the eval-set layout, so
# ocr_eval reads it:
#     tests/eval/big_lettering.sh /tmp/bigtext
#     build/tests/eval/ocr_eval /tmp/bigtext --models models --verbose
# The set behind 066008c's word-gap numbers (seed 20261203: exact English
# lines 22/40 -> 29/40). Not a test: the set is made, never committed.
# Sources listed in ../shared/eval/holdout-sources.tsv are refused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: big_lettering.sh SET_DIR}
HOLDOUT=${ODX_HOLDOUT_SOURCES:-$ROOT/../shared/eval/holdout-sources.tsv}
MO=/usr/share/locale/zh_CN/LC_MESSAGES/iso_3166-1.mo
EN_FONTS=(/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
  /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
  /usr/share/fonts/truetype/dejavu/DejaVuSans-ExtraLight.ttf
  /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf)
ZH_FONTS=(/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc)
for f in "$MO" "${EN_FONTS[@]}" "${ZH_FONTS[@]}"; do
  [ -r "$f" ] || { echo "big_lettering: $f missing (iso-codes, fonts-dejavu-core, fonts-wqy-zenhei)" >&2; exit 1; }
  pkg=$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1)
  if [ -r "$HOLDOUT" ] && awk -F'\t' -v p="$pkg" -v f="$f" '$1 == p && ($2 == f || $2 == "")' "$HOLDOUT" | grep -q .; then
    echo "big_lettering: $pkg $f is a holdout source: refused" >&2
    exit 1
  fi
done
mkdir -p "$OUT/images"
msgunfmt "$MO" >"$OUT/zh.po"
# (name, lang, font, pt, bg, fg) rows: python3 only picks, ImageMagick draws
python3 - "$OUT/zh.po" "${EN_FONTS[*]}" "${ZH_FONTS[*]}" >"$OUT/plan.tsv" <<'PY'
import random, re, sys
po = open(sys.argv[1], encoding='utf-8').read()
pairs = [(e, z) for e, z in re.findall(r'msgid "([^"]+)"\nmsgstr "([^"]+)"', po)
         if len(e) <= 18 and len(z) <= 8 and ',' not in e and '(' not in e]
en_fonts, zh_fonts = sys.argv[2].split(), sys.argv[3].split()
colours = [('white', 'black'), ('#f4ecd8', '#1a237e'), ('#1e2630', 'white'),
           ('#b71c1c', 'white'), ('#ffd54f', '#212121')]
rnd = random.Random(20261203)
rnd.shuffle(pairs)
for e, z in pairs[:40]:
    for text, fonts, lang in ((e, en_fonts, 'en'), (z, zh_fonts, 'zh')):
        font = rnd.choice(fonts)
        pt = rnd.choice([90, 140, 200, 280])
        bg, fg = rnd.choice(colours)
        print('\t'.join([text, lang, font, str(pt), bg, fg]))
PY
printf 'file\tdomain\tchart_type\tlanguage\tdescription\tkey_text\tprovenance\n' >"$OUT/manifest.tsv"
n=0
while IFS=$'\t' read -r text lang font pt bg fg; do
  name=$(printf 'b%03d.png' "$n")
  convert -background "$bg" -fill "$fg" -font "$font" -pointsize "$pt" "label:$text" \
    -bordercolor "$bg" -border "$((pt / 2))x$((pt / 3))" -resize '1600x1600>' -strip \
    "$OUT/images/$name"
  printf '%s\tposter\t-\t%s\tdrawn country name\t%s\tiso-codes %s (%s), %s %spt\n' \
    "$name" "$lang" "$text" "$MO" "$lang" "$(basename "$font")" "$pt" >>"$OUT/manifest.tsv"
  n=$((n + 1))
done <"$OUT/plan.tsv"
rm -f "$OUT/zh.po" "$OUT/plan.tsv"
echo "big_lettering: $n images in $OUT"
