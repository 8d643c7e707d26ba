#!/usr/bin/env python3
"""object_set.py - puts the hand-labelled photographs of photo_objects.tsv
in one directory for object_eval: each row's file copied (or taken out of
its Qt resource bundle, for "BUNDLE.rcc!ENTRY"), and DIR/labels.tsv with the
same columns and the copies' paths.

usage: object_set.py [--labels tests/eval/photo_objects.tsv] --out DIR
then:  build/tests/eval/object_eval DIR/labels.tsv --models models
The sources are files of installed Debian packages (tests/eval/corpus/deps.sh);
a row whose file is missing is reported and left out. Like the corpus
builder, it refuses to run without the holdout list (ODX_HOLDOUT
overrides ../shared/eval/holdout-sources.tsv) and leaves out, saying so,
every source of the holdout, dev and field sets."""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "corpus"))
import build  # noqa: E402  (rcc_files, Excluded)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=os.path.join(HERE, "photo_objects.tsv"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    holdout = os.environ.get("ODX_HOLDOUT") or os.path.join(build.shared_eval_dir(),
                                                            "holdout-sources.tsv")
    if not os.path.isfile(holdout):
        sys.stderr.write("object_set: holdout list %s not found: cannot check sources\n" % holdout)
        return 1
    ex = build.Excluded(holdout)
    ex.add_dev(os.path.join(build.shared_eval_dir(), "dev", "manifest.tsv"))
    ex.add_field()
    img = os.path.join(a.out, "images")
    os.makedirs(img, exist_ok=True)
    out, missing, refused = [], 0, 0
    for line in open(a.labels, encoding="utf-8"):
        if line.startswith("#") or line.startswith("package\t") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        src = f[1]
        why = ex.why(src.split("!", 1)[0])
        if why:
            sys.stderr.write("object_set: refused: %s (%s source)\n" % (src, why))
            refused += 1
            continue
        dst = os.path.join(img, "%04d%s" % (len(out), os.path.splitext(src)[1]))
        try:
            if "!" in src:
                bundle, entry = src.split("!", 1)
                with open(dst, "wb") as w:
                    w.write(build.rcc_files(bundle)[entry])
            else:
                shutil.copyfile(src, dst)
        except (OSError, KeyError) as e:
            sys.stderr.write("object_set: %s: %s\n" % (src, e))
            missing += 1
            continue
        out.append("\t".join([f[0], dst] + f[2:]))
    with open(os.path.join(a.out, "labels.tsv"), "w", encoding="utf-8") as w:
        w.write("package\tpath\tsplit\tpresent\tacceptable\n" + "\n".join(out) + "\n")
    sys.stderr.write("object_set: %d photographs in %s (%d missing, %d refused)\n" % (
        len(out), a.out, missing, refused))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
