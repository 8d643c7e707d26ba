#!/usr/bin/python3
"""chart_values.py - how well the chart reader carries values (issue 13).

Draws bar, horizontal-bar and pie charts the way the domain corpus does
(tests/eval/corpus/build.py's r_chart: matplotlib from rows of Debian
package data files, every style, en and zh labels; the holdout's, dev's and
the field set's sources refused as the builder refuses them), keeps what
each chart was drawn from, captions each with `omnidex caption --json`
and compares structure.values with the data:

  bars   a value counts as right within 5% of the chart's largest bar
         (a pixel of a short chart's axis is ~1-2% of it); recall = bars
         whose label and value were read right / bars drawn
  pies   a share counts as right when it is the printed autopct ("%1.0f%%"
         of the slice's share); only pies with printed shares

A label matches when it equals the drawn one after case folding and
dropping spaces (OCR's word gaps). Prints a table; a measurement, not a
test.

usage: tests/eval/chart_values.py OMNIDEX [--n N] [--out DIR] [--seed S]
                                          [--models DIR]
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import hashlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "corpus"))
import build  # noqa: E402  (the corpus builder: sources, holdout filter, r_chart)


def norm(s):
    return re.sub(r"\s+", "", s).casefold()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("omnidex")
    ap.add_argument("--n", type=int, default=120, help="charts to draw (default 120)")
    ap.add_argument("--out", default="/work/chart-values")
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument("--models", default=os.path.join(build.ROOT, "models"))
    a = ap.parse_args()
    holdout = os.environ.get("ODX_HOLDOUT") or os.path.join(build.shared_eval_dir(),
                                                            "holdout-sources.tsv")
    if not os.path.isfile(holdout):
        sys.exit("chart_values: holdout list %s not found: cannot check sources" % holdout)
    ex = build.Excluded(holdout)
    ex.add_dev(os.path.join(build.shared_eval_dir(), "dev", "manifest.tsv"))
    ex.add_field()
    rng = random.Random(a.seed)
    cands = [c for c in build.enumerate_candidates(rng)
             if c.domain == "chart" and not ex.why(c.src, c.page)]
    rng.shuffle(cands)
    os.makedirs(a.out, exist_ok=True)
    stats = {k: {"charts": 0, "items": 0, "read": 0, "right": 0, "with_values": 0}
             for k in ("bar", "barh", "pie")}
    made = 0
    for i, c in enumerate(cands):
        if made >= a.n:
            break
        base = os.path.join(a.out, "cv%04d" % i)
        crng = random.Random(hashlib.sha256((c.key() + repr(sorted(c.args.items())) +
                                             str(a.seed)).encode()).hexdigest())
        try:
            f, _ = build.r_chart(c, crng, base)
        except Exception as e:  # a bad source: say so, go on
            sys.stderr.write("chart_values: %s: %s\n" % (c.key().rstrip(), e))
            continue
        data = build.LAST_CHART
        if not f or not data or (data["kind"] == "pie" and not data["printed"]):
            continue
        made += 1
        out = subprocess.run([a.omnidex, "--models", a.models, "caption", "--json", f],
                             capture_output=True, text=True)
        try:
            vals = json.loads(out.stdout).get("structure", {}).get("values", [])
        except ValueError:
            vals = []
        k = data["kind"]
        st = stats[k]
        st["charts"] += 1
        st["with_values"] += 1 if vals else 0
        st["items"] += len(data["labels"])
        got = {}
        for v in vals:
            m = re.match(r"(.+): (.+)$", v)
            if m:
                got[norm(m.group(1))] = m.group(2).strip()
        st["read"] += len(got)
        total = float(sum(data["values"])) or 1.0
        top = float(max(data["values"])) or 1.0
        for lab, x in zip(data["labels"], data["values"]):
            g = got.get(norm(str(lab)))
            if g is None:
                continue
            if k == "pie":
                ok = norm(g) == norm("%1.0f%%" % (100.0 * x / total))
            else:
                try:
                    ok = abs(float(g) - x) <= 0.05 * top
                except ValueError:
                    ok = False
            st["right"] += 1 if ok else 0
        if os.environ.get("CV_VERBOSE"):
            print(os.path.basename(f), k, data.get("rotation", "-"),
                  list(zip(data["labels"], data["values"])), vals)
    print("kind   charts  with values  items  read  right  recall  precision")
    for k, st in stats.items():
        if not st["charts"]:
            continue
        print("%-6s %6d  %11d  %5d  %4d  %5d  %6.3f  %9.3f" % (
            k, st["charts"], st["with_values"], st["items"], st["read"], st["right"],
            st["right"] / st["items"] if st["items"] else 0,
            st["right"] / st["read"] if st["read"] else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
