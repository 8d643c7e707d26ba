#!/usr/bin/env bash
# labels: integration
# Chart values end to end (OCR with the PP-OCR models, structure, captions):
# the bundled bar chart's bars read off the fitted value axis within 2 mm
# of the data scripts/make_samples.py drew them from, each named by its
# month; the pie's labels paired with the shares printed in their own
# slices (matplotlib's autopct "%d%%" truncates 45 to 44); the detailed
# captions and the structure text carry them.
set -u
BIN=${1:?usage: chart_values.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
MODELS=${OMNIDEX_MODELS:-$SRC/models}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -f "$MODELS/ch_PP-OCRv4_rec_infer.onnx" ]; then
    echo "FAIL: PP-OCR models not in $MODELS (scripts/fetch_models.sh)"
    exit 1
fi
"$BIN" --models "$MODELS" caption --json "$SRC/samples/bar_rainfall.png" >"$T/bar.json" || {
    echo "FAIL: caption bar_rainfall.png"
    exit 1
}
"$BIN" --models "$MODELS" caption --json "$SRC/samples/pie_fruit_zh.png" >"$T/pie.json" || {
    echo "FAIL: caption pie_fruit_zh.png"
    exit 1
}
python3 - "$T/bar.json" "$T/pie.json" <<'EOF'
import json, re, sys
fails = 0
def check(what, ok):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1

bar = json.load(open(sys.argv[1]))
pie = json.load(open(sys.argv[2]))
# the data of scripts/make_samples.py's bar chart
rain = dict(zip("jan feb mar apr may jun jul aug sep oct nov dec".split(),
                [78, 61, 55, 48, 52, 40, 33, 38, 50, 71, 82, 90]))
vals = bar.get("structure", {}).get("values", [])
read = {}
for v in vals:
    m = re.match(r"(.+): (-?[0-9.]+)$", v)
    if m:
        read[m.group(1).strip().lower()] = float(m.group(2))
check("bar: 12 values (%s)" % vals, len(read) == 12)
check("bar: every month within 2 of its data (%s)" % read,
      all(k in read and abs(read[k] - x) <= 2 for k, x in rain.items()))
check("bar: values marked as read off the bars",
      bar.get("structure", {}).get("values_estimated") is True)
det = bar["captions"]["en"]["detailed"]
check("bar: detailed caption gives the values, hedged: " + det,
      "Values, read off the bars:" in det and re.search(r"Dec about (89|9[0-2])\b", det) is not None)
check("bar: Chinese caption too", "按柱长估读的数值" in bar["captions"]["zh"]["detailed"])

pv = pie.get("structure", {}).get("values", [])
share = {}
for v in pv:
    m = re.match(r"(.+): ([0-9]+) ?%$", v)
    if m:
        share[m.group(1)] = int(m.group(2))
want = {"苹果": 44, "香蕉": 25, "橙子": 20, "葡萄": 10}
check("pie: each slice's own share (%s)" % pv, share == want)
check("pie: values printed, not estimated",
      pie.get("structure", {}).get("values_estimated") is False)
det = pie["captions"]["zh"]["detailed"]
check("pie: Chinese caption pairs them: " + det, "苹果 44%" in det and "葡萄 10%" in det)
sys.exit(1 if fails else 0)
EOF
