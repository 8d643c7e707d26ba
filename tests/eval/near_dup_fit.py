#!/usr/bin/python3
"""near_dup_fit.py - fit the near-duplicate model of search by example (issue 17).

A near-duplicate is decided per pair (example, candidate) by a logistic model
over what ret_similar_to knows of the pair: the closest Hamming distance
between their difference hashes, min(whole, crop + CROP_PENALTY), where whole
compares the two whole-picture hashes and crop is the closest cross-match of
a picture's whole hash against the other's 8 crop hashes (sixteen
comparisons, so more chance agreement: a crop match pays a penalty, chosen
on the train split from 0, 2, 4, 6, 8 bits); the cosine of their caption
vectors; how informative the hashes are (the smaller number of set bits:
flat pages and plain backgrounds hash to few, and collide); and, where both
pictures have one (content captioned since schema 6), the correlation of
their 16 x 16 grey grids, one as it is against the other through each of 9
windows (the whole and the crop rectangles), which does not flip like a
hash's bits. Two models are fitted: with the grey correlation and without
(for content captioned before). Under a model where each bit of two
unrelated hashes agrees by chance, the log-odds of "copy" fall linearly with
the distance, hence a linear model. Same domain or not was tried and left
out: fitted, its weight came out near zero and negative (the caption cosine
says it better), and crops flip domains. -log(1 - correlation) in place of
the correlation was tried: validation rank 1 fell (crop 0.878, half 0.927,
q60 0.927 against 0.866, 0.963, 0.939). Positive pairs weigh 0.1 of the
total (they are ~1 in 800): at 0.5 the validation copies ranked alike but
twice as many unrelated pairs counted as near (0.0055 against 0.0022), at
the true proportion a quarter of the copies fell out (rank 1 of crops 0.77).
Ranking and naming differ: a pair is called a near duplicate above p 0.5,
but ranks among the copies above a lower threshold chosen on train (of
0.5 ... 0.01, the highest of those with the most originals at rank 1): a
crop whose hash bits flipped on a near-flat page reaches p 0.2-0.4 and
still belongs above pictures only alike by caption.

Data: a database made by tests/eval/near_dup.sh over a by-construction corpus
(tests/eval/corpus/build.py) with every image copied (N = the corpus size):
imgs/orig/NAME and imgs/copies/BASE.{q60,half,crop}.EXT. Positive pairs: a
copy and its original; negative pairs: a copy and every other original or
other image's copy (a copy's sibling copies are left out: they are near
duplicates too). Fitted on the corpus's train split (by package), reported
on its validation split; the dev set stays a check (near_dup.sh).

usage: tests/eval/near_dup_fit.py DB MANIFEST [--write retriever/near_dup_model.h]
                                  [--model retriever/near_dup_model.h]
(--model keeps that header's coefficients and chooses only the rank
threshold on DB's train split.)
Needs python3-numpy. Deterministic: Newton's method from zero, no sampling.
"""
import argparse
import sqlite3
import struct
import sys

import numpy as np

FEATURES = ["closest", "caption_cos", "hash_bits"]
PENALTIES = [0, 2, 4, 6, 8]
RANK_THRESHOLDS = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01]
POS_WEIGHT = 0.1
N_CROPS = 8


def crops(blob):
    if blob is None or len(blob) != 8 * N_CROPS:
        return []
    return [struct.unpack(">Q", blob[8 * k:8 * k + 8])[0] for k in range(N_CROPS)]


def popcount(x):
    return bin(x).count("1")


def load(db_path, manifest):
    split = {}
    with open(manifest, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        i_file, i_split = head.index("file"), head.index("split")
        for line in f:
            c = line.rstrip("\n").split("\t")
            split[c[i_file].rsplit(".", 1)[0]] = c[i_split]
    db = sqlite3.connect(db_path)
    vec = {}
    for h, e in db.execute("SELECT hash, embedding FROM vectors WHERE field = 'caption' ORDER BY id"):
        if h not in vec:
            vec[h] = np.frombuffer(e, dtype=np.float32)
    items = []
    for p, h, dom, dh, cb, grey in db.execute(
            "SELECT i.path, c.hash, c.domain, c.dhash, c.dhash_crops, c.grey FROM images i"
            " JOIN content c ON c.hash = i.hash WHERE i.status = 'ok' AND c.dhash IS NOT NULL"):
        rel = (p.decode("utf-8", "replace") if isinstance(p, bytes) else p).split("/imgs/")[-1]
        if rel.startswith("orig/"):
            base, kind = rel[5:].rsplit(".", 1)[0], "orig"
        else:
            base, kind, _ = rel[7:].rsplit(".", 2)
        if base not in split:
            continue
        g = np.frombuffer(grey, dtype=np.uint8).astype(np.float64) if grey and len(grey) == 256 else None
        items.append(dict(base=base, kind=kind, split=split[base], hash=h, dom=dom,
                          dh=dh & (2**64 - 1), cr=crops(cb), v=vec.get(h), g=g))
    return items


# the whole picture and the crop rectangles (core/hash.c, core_pic_crops),
# which retriever/search.c compares grey grids through
GREY_WINDOWS = [(0, 0, 1, 1), (0.025, 0.025, 0.975, 0.975), (0.05, 0.05, 0.95, 0.95),
                (0.075, 0.075, 0.925, 0.925), (0.1, 0.1, 0.9, 0.9), (0, 0, 0.9, 0.9),
                (0.1, 0, 1, 0.9), (0, 0.1, 0.9, 1), (0.1, 0.1, 1, 1)]
SIDE = 16


def grey_window(g, w):
    """grey_window in retriever/search.c: bilinear between cell centres."""
    g = g.reshape(SIDE, SIDE)
    t = (np.arange(SIDE) + 0.5) / SIDE
    gx = np.clip((w[0] + t * (w[2] - w[0])) * SIDE - 0.5, 0, SIDE - 1)
    gy = np.clip((w[1] + t * (w[3] - w[1])) * SIDE - 0.5, 0, SIDE - 1)
    x0 = gx.astype(int); x1 = np.minimum(x0 + 1, SIDE - 1); fx = gx - x0
    y0 = gy.astype(int); y1 = np.minimum(y0 + 1, SIDE - 1); fy = gy - y0
    top = g[y0][:, x0] * (1 - fx) + g[y0][:, x1] * fx
    bot = g[y1][:, x0] * (1 - fx) + g[y1][:, x1] * fx
    return (top * (1 - fy)[:, None] + bot * fy[:, None]).ravel()


def unit(v):
    """Mean taken out, unit length; zeros for a flat grid (grey_ncc)."""
    v = v - v.mean()
    ss = float(v @ v)
    return np.zeros_like(v) if ss < 4.0 * len(v) else v / np.sqrt(ss)


def grey_matrix(pool):
    """grey_corr of every pair of the pool (-1: one has no grid)."""
    P = len(pool)
    W = np.zeros((P, len(GREY_WINDOWS), SIDE * SIDE))
    has = np.array([it["g"] is not None for it in pool])
    for i, it in enumerate(pool):
        if it["g"] is not None:
            for k, w in enumerate(GREY_WINDOWS):
                W[i, k] = unit(grey_window(it["g"], w))
    C1 = (W[:, 0] @ W.reshape(P * len(GREY_WINDOWS), -1).T).reshape(P, P, -1).max(axis=2)
    C = np.maximum(C1, C1.T).clip(0, None)
    C[~has, :] = -1
    C[:, ~has] = -1
    return C


def raw(a, b, grey):
    """whole, crop, caption cosine, hash bits, grey correlation
    (retriever/search.c, near_logit, computes the same)."""
    whole = popcount(a["dh"] ^ b["dh"])
    crop = 64
    for x in b["cr"]:
        crop = min(crop, popcount(x ^ a["dh"]))
    for x in a["cr"]:
        crop = min(crop, popcount(x ^ b["dh"]))
    cos = 0.0
    if a["v"] is not None and b["v"] is not None:
        cos = float(min(1.0, max(0.0, float(a["v"] @ b["v"]))))
    return [whole, crop, cos, min(popcount(a["dh"]), popcount(b["dh"])), grey]


def features(R, penalty, with_grey=False):
    closest = np.minimum(R[:, 0], R[:, 1] + penalty) / 64.0
    cols = [closest, R[:, 2], R[:, 3] / 64.0] + ([R[:, 4]] if with_grey else [])
    return np.stack(cols, 1)


def pairs(items, which):
    """(raw pairs, y, query index, kind, same domain) for every copy of the
    split against every image of the same split that is not itself or its
    sibling."""
    X, y, q, kinds, dom = [], [], [], [], []
    pool = [b for b in items if b["split"] == which]
    G = grey_matrix(pool)
    qi = 0
    for ia, a in enumerate(pool):
        if a["kind"] == "orig":
            continue
        for ib, b in enumerate(pool):
            if b is a or (b["base"] == a["base"] and b["kind"] != "orig"):
                continue
            X.append(raw(a, b, G[ia, ib]))
            y.append(1.0 if b["base"] == a["base"] else 0.0)
            q.append(qi)
            kinds.append(a["kind"])
            dom.append(bool(a["dom"]) and a["dom"] == b["dom"])
        qi += 1
    return np.array(X), np.array(y), np.array(q), kinds, np.array(dom)


def fit(X, y, l2=1e-3, iters=60):
    """Logistic regression by Newton's method, positive pairs weighing
    POS_WEIGHT of the total."""
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w_pos = POS_WEIGHT * len(y) / max(1.0, y.sum())
    w_neg = (1 - POS_WEIGHT) * len(y) / max(1.0, len(y) - y.sum())
    sw = np.where(y > 0, w_pos, w_neg)
    beta = np.zeros(Xb.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(Xb @ beta)))
        g = Xb.T @ (sw * (p - y)) + l2 * beta
        H = (Xb * (sw * p * (1 - p))[:, None]).T @ Xb + l2 * np.eye(len(beta))
        step = np.linalg.solve(H, g)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta


def prob(beta, X):
    return 1.0 / (1.0 + np.exp(-(X @ beta[:-1] + beta[-1])))


def shifted(p, thr):
    """p moved so that p > thr becomes p > 0.5 (the log-odds less those of
    thr), for report."""
    z = np.log(np.clip(p, 1e-300, 1)) - np.log(np.clip(1 - p, 1e-300, 1))
    return 1.0 / (1.0 + np.exp(-(z - np.log(thr / (1 - thr)))))


def report(name, p, R, y, q, kinds):
    """Rank 1 of the original per copy, as ret_similar_to ranks: a near
    pair (p > 0.5) scores 0.9 + 0.1 p, any other 0.9 x caption cosine (its
    similarity, of which the caption field weighs most). A tie with an
    image of the same hashes and captions (the corpus has a few identical
    pictures from different sources) is counted apart. Returns the rank-1
    count."""
    near = p > 0.5
    score = np.where(near, 0.9 + 0.1 * p, 0.9 * R[:, 2])
    ok, tie, n, fp = {}, {}, {}, 0
    for qi in np.unique(q):
        m = q == qi
        k = kinds[int(np.argmax(m))]
        n[k] = n.get(k, 0) + 1
        s, t = score[m], y[m]
        best_other = s[t == 0].max(initial=-1)
        if t.sum() and s[t > 0].max() > best_other:
            ok[k] = ok.get(k, 0) + 1
        elif t.sum() and s[t > 0].max() == best_other:
            tie[k] = tie.get(k, 0) + 1
        fp += int((near[m] & (t == 0)).any())
    line = "  ".join(f"{k} {ok.get(k, 0)}/{n[k]} ({ok.get(k, 0) / n[k]:.3f}, ties {tie.get(k, 0)})"
                     for k in sorted(n))
    print(f"{name}: rank 1 {line}; near: positives {near[y > 0].mean():.3f}, negative pairs"
          f" {near[y == 0].mean():.5f}, copies with an unrelated near {fp}/{len(np.unique(q))}")
    return sum(ok.values())


def rule_before(R, X_dom):
    """The hand-set rule this model replaced: whole <= 10 or crop <= 7
    bits, same domain, caption cosine >= 0.6."""
    hit = (R[:, 0] <= 10) | (R[:, 1] <= 7)
    # near pairs ranked by their similarity, as that rule ranked them
    return np.where(hit & X_dom & (R[:, 2] >= 0.6), 0.5 + 1e-9 + 0.5 * R[:, 2], 0.0)


def read_model(path):
    """(penalty, coefficients without grey, with grey, provenance) of a
    header this script wrote: --model keeps a model and chooses only the
    rank threshold."""
    import re
    t = open(path, encoding="utf-8").read()

    def arr(name):
        m = re.search(name + r"\[[A-Z_]+\] = \{(.*?)\};", t, re.S)
        return [float(x.split("/*")[0].strip().rstrip(",")) for x in m.group(1).strip().splitlines()]

    def num(name):
        return float(re.search(r"\b" + name + r"\b\s*=?\s*(-?[0-9.]+)", t).group(1))
    pen = int(num("NEAR_CROP_PENALTY"))
    beta0 = np.array(arr("NEAR_COEF_NOGREY") + [num("NEAR_INTERCEPT_NOGREY")])
    beta = np.array(arr("NEAR_COEF") + [num("NEAR_INTERCEPT")])
    prov = re.search(r"\* (Fitted on .*?\.)(?: \*/|\n \* Rank)", t, re.S).group(1)
    return pen, beta0, beta, prov


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("manifest")
    ap.add_argument("--write", metavar="HEADER")
    ap.add_argument("--model", metavar="HEADER",
                    help="keep the coefficients of this generated header; choose only the rank"
                         " threshold")
    a = ap.parse_args()
    items = load(a.db, a.manifest)
    tr = pairs(items, "train")
    va = pairs(items, "val")
    print(f"pairs: train {len(tr[1])} ({int(tr[1].sum())} positive), validation {len(va[1])}"
          f" ({int(va[1].sum())} positive)")
    g_tr = tr[0][:, 4] >= 0
    if a.model:
        pen, beta0, beta, fitted_on = read_model(a.model)
        print(f"model of {a.model} (crop penalty {pen}), not refitted")
    else:
        best = None
        for pen in PENALTIES:
            b = fit(features(tr[0], pen), tr[1])
            print(f"crop penalty {pen}:", end=" ")
            n1 = report("train", prob(b, features(tr[0], pen)), *tr[:4])
            if best is None or n1 > best[0]:
                best = (n1, pen, b)
        _, pen, beta0 = best
        print(f"chosen crop penalty {pen} bits (train)")
        # with the grey grids: the pairs where both pictures have one
        if not g_tr.any():
            sys.exit("near_dup_fit: no grey grids in the database (captioned before schema 6?)")
        beta = fit(features(tr[0][g_tr], pen, True), tr[1][g_tr])
        fitted_on = (f"Fitted on {len(tr[1])} train pairs ({int(tr[1].sum())} positive);\n"
                     f" * validation: {len(va[1])} pairs ({int(va[1].sum())} positive).")
    for name, (R, y, q, k, dom) in (("train", tr), ("validation", va)):
        report(f"{name:10s} rule before  ", rule_before(R, dom), R, y, q, k)
        report(f"{name:10s} fitted, hashes", prob(beta0, features(R, pen)), R, y, q, k)
        g = R[:, 4] >= 0
        pg = np.where(g, prob(beta, features(np.where(g[:, None], R, 0), pen, True)),
                      prob(beta0, features(R, pen)))
        report(f"{name:10s} fitted, + grey", pg, R, y, q, k)
    # the rank threshold: a candidate whose p exceeds it ranks among the
    # copies (above anything only alike by caption); chosen on train, the
    # highest of the best (fewer unrelated pictures among the copies)
    best_thr = None
    pg_tr = np.where(g_tr, prob(beta, features(np.where(g_tr[:, None], tr[0], 0), pen, True)),
                     prob(beta0, features(tr[0], pen)))
    for thr in RANK_THRESHOLDS:
        n1 = report(f"rank threshold {thr:.2f} train", shifted(pg_tr, thr), *tr[:4])
        if best_thr is None or n1 > best_thr[0]:
            best_thr = (n1, thr)
    thr = best_thr[1]
    g_va = va[0][:, 4] >= 0
    pg_va = np.where(g_va, prob(beta, features(np.where(g_va[:, None], va[0], 0), pen, True)),
                     prob(beta0, features(va[0], pen)))
    report(f"chosen rank threshold {thr:.2f} validation", shifted(pg_va, thr), *va[:4])
    print("coefficients, hashes:", ", ".join(f"{f} {b:.3f}" for f, b in zip(FEATURES + ["intercept"], beta0)))
    print("coefficients, + grey:", ", ".join(f"{f} {b:.3f}" for f, b in zip(FEATURES + ["grey_corr", "intercept"], beta)))
    if a.write:
        with open(a.write, "w", encoding="utf-8") as f:
            f.write("/* near_dup_model.h - GENERATED by tests/eval/near_dup_fit.py; do not edit.\n"
                    " * The logistic model of a near-duplicate pair in search by example\n"
                    " * (retriever/search.c, near_z): log-odds = intercept + the sum of\n"
                    " * coefficient x feature, features in this order. Regenerate: build a\n"
                    " * corpus (tests/eval/corpus/build.py --per-domain 40), run\n"
                    " * tests/eval/near_dup.sh on it with N = its size, then\n"
                    " * tests/eval/near_dup_fit.py DB MANIFEST --write retriever/near_dup_model.h\n"
                    f" * {fitted_on}\n"
                    + (f" * Rank threshold chosen on {len(tr[1])} train pairs ({int(tr[1].sum())}"
                       f" positive)\n * of a later build, for these coefficients (--model).\n"
                       if a.model else "") + " */\n")
            f.write(f"#define NEAR_CROP_PENALTY {pen}\n")
            f.write("/* a candidate whose log-odds exceed this ranks among the copies\n"
                    f" * (p > {thr:.2f}, chosen on train); above 0 it is called one */\n")
            f.write(f"#define NEAR_RANK_Z {np.log(thr / (1 - thr)):.6f}\n")
            f.write("/* with both pictures' grey grids */\n")
            f.write(f"#define NEAR_N_FEATURES {len(FEATURES) + 1}\n")
            f.write("static const double NEAR_COEF[NEAR_N_FEATURES] = {\n")
            for name, b in zip(FEATURES + ["grey_corr"], beta):
                f.write(f"    {b:.6f}, /* {name} */\n")
            f.write("};\n")
            f.write(f"static const double NEAR_INTERCEPT = {beta[-1]:.6f};\n")
            f.write("/* without (content captioned before schema 6) */\n")
            f.write(f"#define NEAR_N_FEATURES_NOGREY {len(FEATURES)}\n")
            f.write("static const double NEAR_COEF_NOGREY[NEAR_N_FEATURES_NOGREY] = {\n")
            for name, b in zip(FEATURES, beta0):
                f.write(f"    {b:.6f}, /* {name} */\n")
            f.write("};\n")
            f.write(f"static const double NEAR_INTERCEPT_NOGREY = {beta0[-1]:.6f};\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
