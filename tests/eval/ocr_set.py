#!/usr/bin/python3
"""ocr_set.py - builds a by-construction OCR check set: text-heavy images
(documents, tables, posters, screenshots; English, Chinese, mixed) drawn
with PIL from text of installed Debian 12 packages, photos with text in the
scene (a sign plate, turned and sometimes in perspective, or an outlined
caption, on the domain corpus's photographs) geometry figures (lettered
points, side lengths, an angle, a caption) and two-column pages (whose
key text crosses a line break inside a column: a check of reading
order), each with the phrases it shows
as key_text, in the dev manifest's format, so that tests/eval/ocr_eval
reads it like ../shared/eval/dev. A figure's key text is every label, one
letter ones too (ocr_eval's substring rule makes those lenient).

    /usr/bin/python3 tests/eval/ocr_set.py [--out /work/ocrset] [--n 12] [--seed 12]
                                           [--kinds document,table,poster,screenshot,photo,figure,columns]

Sources are checked like the domain corpus (tests/eval/corpus/build.py,
imported, not changed): holdout, dev and field-set sources are refused.
Key text is what was drawn (phrases of whole words, Han runs without
punctuation), so a miss is the reader's. Images are not committed.
"""
import argparse
import glob
import gzip
import html
import importlib.util
import os
import random
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("corpus_build", os.path.join(HERE, "corpus", "build.py"))
cb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cb)

from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

ZH_FONTS = ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"]
EN_FONTS = sorted(f for f in glob.glob("/usr/share/fonts/truetype/*/*.ttf")
                  if re.search(r"(DejaVu|Liberation|Free)(Sans|Serif|Mono)", f) and "Oblique" not in f
                  and "Italic" not in f and "Math" not in f)
HAN = re.compile(r"[\u4e00-\u9fff]{2,}")


def read_mo(path):
    """(msgid, msgstr) pairs of a gettext catalog."""
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    e = "<" if magic == 0x950412de else ">"
    n, oo, ot = struct.unpack(e + "III", d[8:20])
    out = []
    for i in range(n):
        lo, po = struct.unpack(e + "II", d[oo + 8 * i:oo + 8 * i + 8])
        lt, pt = struct.unpack(e + "II", d[ot + 8 * i:ot + 8 * i + 8])
        a = d[po:po + lo].decode("utf-8", "replace").split("\0")[0]
        b = d[pt:pt + lt].decode("utf-8", "replace").split("\0")[0]
        if a and b:
            out.append((a, b))
    return out


def html_text(path):
    t = open(path, encoding="utf-8", errors="replace").read()
    t = re.sub(r"(?s)<(script|style|pre).*?</\1>", " ", t)
    paras = re.findall(r"(?s)<p[^>]*>(.*?)</p>", t)
    out = []
    for p in paras:
        p = html.unescape(re.sub(r"<[^>]+>", "", p))
        p = re.sub(r"\s+", " ", p).strip()
        if len(p) > 40:
            out.append(p)
    return out


def wrap(draw, text, font, width, zh):
    """Greedy wrap by pixel width: words for English, characters for Chinese."""
    toks = list(text) if zh else text.split(" ")
    lines, cur = [], ""
    for t in toks:
        nxt = cur + t if zh or not cur else cur + " " + t
        if cur and draw.textlength(nxt, font=font) > width:
            lines.append(cur)
            cur = t
        else:
            cur = nxt
    if cur:
        lines.append(cur)
    return lines


def phrase(line, zh, rng):
    """A phrase of the drawn line: 3-5 whole words, or a Han run of 3-8."""
    if zh:
        runs = [r for r in HAN.findall(line) if len(r) >= 3]
        if not runs:
            return None
        r = rng.choice(runs)
        n = min(len(r), rng.randint(3, 8))
        s = rng.randint(0, len(r) - n)
        return r[s:s + n]
    # a run of 3-5 words of letters, digits, inner hyphens or apostrophes,
    # a trailing comma or full stop trimmed: quotes and brackets are left
    # to the rule's own tests
    words = line.split(" ")
    clean = [bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9'-]*[A-Za-z0-9][.,]?|[A-Za-z0-9]", w))
             for w in words]
    n = rng.randint(3, 5)
    starts = [i for i in range(len(words) - n + 1) if all(clean[i:i + n])]
    if not starts:
        return None
    s = rng.choice(starts)
    p = " ".join(words[s:s + n]).rstrip(".,")
    if len(p) < 8 or not re.search(r"[A-Za-z]{3}", p):
        return None
    return p


def bg_colour(rng, dark=False):
    if dark:
        return tuple(rng.randint(0, 60) for _ in range(3))
    return rng.choice([(255, 255, 255), (250, 250, 245), (242, 242, 242), (235, 240, 248)])


def r_document(rng, lang, paras, src):
    zh = lang == "zh"
    W = rng.choice([800, 1000, 1240, 1700, 2480])
    H = int(W * 1.414)
    size = max(11, int(W / rng.choice([55, 65, 75, 90]) * (1.0 if not zh else 1.15)))
    font = ImageFont.truetype(rng.choice(ZH_FONTS if zh else EN_FONTS), size)
    im = Image.new("RGB", (W, H), bg_colour(rng))
    d = ImageDraw.Draw(im)
    m = W // 12
    y = m
    drawn = []
    start = rng.randint(0, max(0, len(paras) - 30))
    for p in paras[start:]:
        for ln in wrap(d, p, font, W - 2 * m, zh):
            if y + size * 1.5 > H - m:
                break
            d.text((m, y), ln, fill=(20, 20, 20), font=font)
            drawn.append(ln)
            y += int(size * 1.5)
        y += size
        if y + size * 1.5 > H - m:
            break
    return im, drawn, "text page %dx%d, %d px %s, %d lines" % (W, H, size, os.path.basename(font.path), len(drawn))


def r_columns(rng, lang, paras, src):
    """A two-column page (a title across it, sometimes an abstract across
    it too): its key text is what crosses a line break inside a column,
    the last words (characters) of a line and the first of the next, which
    only a reader that goes down each column can find."""
    zh = lang == "zh"
    W = rng.choice([1000, 1240, 1700, 2480])
    H = int(W * 1.414)
    size = max(11, int(W / rng.choice([80, 95, 110]) * (1.0 if not zh else 1.15)))
    font = ImageFont.truetype(rng.choice(ZH_FONTS if zh else EN_FONTS), size)
    big = ImageFont.truetype(font.path, int(size * 1.8))
    im = Image.new("RGB", (W, H), bg_colour(rng))
    d = ImageDraw.Draw(im)
    m = W // 12
    gutter = int(size * rng.choice([1.5, 2.0, 3.0]))
    colw = (W - 2 * m - gutter) // 2
    lead = int(size * rng.choice([1.3, 1.5]))
    start = rng.randint(0, max(0, len(paras) - 40))
    ps = [p for p in paras[start:] if len(p) > 40]
    if len(ps) < 4:
        ps = [p for p in paras if len(p) > 40]
    y = m
    title = ps[0][:40 if not zh else 20].rsplit(" ", 1)[0] if not zh else ps[0][:18]
    d.text((m, y), title, fill=(10, 10, 10), font=big)
    y += int(size * 3)
    if rng.random() < 0.4:  # an abstract across the page
        for ln in wrap(d, ps[1], font, W - 2 * m, zh)[:4]:
            d.text((m, y), ln, fill=(30, 30, 30), font=font)
            y += lead
        y += size
    top = y
    keys, col, k = [], 0, 2
    for p in ps[2:]:
        lines = wrap(d, p, font, colw, zh)
        for i, ln in enumerate(lines):
            if y + lead > H - m:
                if col == 1:
                    break
                col, y = 1, top
            x = m + col * (colw + gutter)
            d.text((x, y), ln, fill=(20, 20, 20), font=font)
            if i + 1 < len(lines) and y + 2 * lead <= H - m:
                a, b = ln, lines[i + 1]
                if zh:
                    ra, rb = HAN.findall(a), HAN.findall(b)
                    if ra and rb and a.endswith(ra[-1]) and b.startswith(rb[0]) and \
                            len(ra[-1]) >= 3 and len(rb[0]) >= 3:
                        keys.append(ra[-1][-3:] + rb[0][:3])
                else:
                    wa, wb = a.split(" "), b.split(" ")
                    ok = r"[A-Za-z][A-Za-z'-]*[A-Za-z]"
                    if len(wa) >= k and len(wb) >= k and \
                            all(re.fullmatch(ok, w) for w in wa[-k:] + wb[:k]):
                        keys.append(" ".join(wa[-k:] + wb[:k]))
            y += lead
        else:
            y += size // 2
            continue
        break
    return im, keys, "two-column page %dx%d, %d px %s, gutter %d px, %d keys" % (
        W, H, size, os.path.basename(font.path), gutter, len(keys))


def r_table(rng, lang, pairs, src):
    """Rows of a catalogue (English name, Chinese name, code) as a grid."""
    rows = rng.sample(pairs, min(len(pairs), rng.randint(8, 22)))
    size = rng.choice([13, 14, 16, 18, 22])
    fe = ImageFont.truetype(rng.choice(EN_FONTS), size)
    fz = ImageFont.truetype(rng.choice(ZH_FONTS), size)
    cols = ["en", "zh"] if lang == "mixed" else [lang]
    hdr = {"en": "Name", "zh": "名称"}
    tmp = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    widths = []
    for c in cols:
        f = fz if c == "zh" else fe
        widths.append(int(max([tmp.textlength(hdr[c], font=f)] +
                              [tmp.textlength(r[0] if c == "en" else r[1], font=f) for r in rows])) + 2 * size)
    widths = [int(size * 3)] + widths
    W = sum(widths) + 40
    rh = int(size * 1.9)
    H = rh * (len(rows) + 1) + 40
    im = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(im)
    style = rng.choice(["grid", "zebra", "rules"])
    drawn = []
    for i in range(len(rows) + 1):
        y = 20 + i * rh
        if style == "zebra" and i % 2 == 1:
            d.rectangle([20, y, W - 20, y + rh], fill=(235, 238, 245))
        if i == 0:
            d.rectangle([20, y, W - 20, y + rh], fill=(60, 80, 120) if style != "rules" else (220, 220, 220))
        x = 20
        cells = ["#"] + [hdr[c] for c in cols] if i == 0 else [str(i)] + [rows[i - 1][0] if c == "en" else rows[i - 1][1] for c in cols]
        for k, cell in enumerate(cells):
            f = fz if (k > 0 and cols[k - 1] == "zh") else fe
            col = (255, 255, 255) if i == 0 and style != "rules" else (20, 20, 20)
            d.text((x + size // 2, y + (rh - size) // 2), cell, fill=col, font=f)
            if i > 0 and k > 0:
                drawn.append(cell)
            x += widths[k]
        if style in ("grid", "rules"):
            d.line([20, y + rh, W - 20, y + rh], fill=(150, 150, 150))
    if style == "grid":
        x = 20
        for w in widths + [0]:
            d.line([x, 20, x, H - 20], fill=(150, 150, 150))
            x += w
    return im, drawn, "table %d rows, %s, %d px" % (len(rows), style, size)


def r_poster(rng, lang, pairs, src):
    """A few large words: a sign or poster, light on dark or dark on light."""
    picks = [p for p in rng.sample(pairs, min(len(pairs), 60)) if 3 <= len(p[0]) <= 28 and len(p[1]) <= 12
             and not re.search(r"[%_\n$<>{}]", p[0] + p[1])][:3]
    W, H = rng.choice([(800, 600), (1200, 800), (1024, 1024), (1600, 900), (600, 900)])
    dark = rng.random() < 0.4
    im = Image.new("RGB", (W, H), bg_colour(rng, dark))
    d = ImageDraw.Draw(im)
    if rng.random() < 0.5:  # gradient backdrop
        c0, c1 = [tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(2)]
        for y in range(H):
            t = y / H
            d.line([0, y, W, y], fill=tuple(int(c0[k] * (1 - t) + c1[k] * t) for k in range(3)))
        mean = sum(c0) + sum(c1)
        dark = mean < 3 * 255
    fg = (250, 250, 250) if dark else (15, 15, 15)
    drawn = []
    y = H // 10
    for i, (en, zh_) in enumerate(picks):
        txt = zh_ if lang == "zh" or (lang == "mixed" and i % 2) else en
        zh = txt == zh_
        size = rng.choice([40, 56, 72, 96, 128]) if i == 0 else rng.choice([28, 36, 48])
        f = ImageFont.truetype(rng.choice(ZH_FONTS if zh else [x for x in EN_FONTS if "Bold" in x] or EN_FONTS), size)
        while d.textlength(txt, font=f) > W * 0.9 and size > 20:
            size = int(size * 0.85)
            f = ImageFont.truetype(f.path, size)
        if y + size * 1.3 > H:
            break
        x = int((W - d.textlength(txt, font=f)) / 2)
        d.text((x, y), txt, fill=fg, font=f)
        drawn.append(txt)
        y += int(size * 1.6)
    return im, drawn, "poster %dx%d, %d lines" % (W, H, len(drawn))


def r_screenshot(rng, lang, pairs, src):
    """A settings dialog: title bar, labelled fields, buttons (UI strings)."""
    W, H = rng.choice([(640, 480), (800, 600), (1024, 700), (1280, 800)])
    dark = rng.random() < 0.25
    bg = (45, 45, 48) if dark else (240, 240, 240)
    fg = (230, 230, 230) if dark else (25, 25, 25)
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    size = rng.choice([12, 13, 14, 15, 16])
    fz = ImageFont.truetype(rng.choice(ZH_FONTS), size)
    fe = ImageFont.truetype(rng.choice([f for f in EN_FONTS if "Sans" in f and "Bold" not in f]), size)
    d.rectangle([0, 0, W, 30], fill=(60, 60, 70) if dark else (210, 214, 222))
    items = [p for p in rng.sample(pairs, min(len(pairs), 200)) if 4 <= len(p[0]) <= 40
             and not re.search(r"[%_\n$<>{}]", p[0] + p[1])]
    drawn = []
    y = 50
    col = 0  # two columns from 800 px wide, else one
    for en, zh_ in items:
        txt = zh_ if lang == "zh" or (lang == "mixed" and rng.random() < 0.5) else en
        f = fz if txt == zh_ else fe
        if y + size * 2.6 > H - 60:
            break
        if d.textlength(txt, font=f) > W // 2 - 80:
            continue
        x = 30 if col == 0 else W // 2
        right = W // 2 - 10 if col == 0 and W >= 800 else W - 10
        d.text((x, y), txt, fill=fg, font=f)
        drawn.append(txt)
        fx = x + int(d.textlength(txt, font=f)) + 12
        if rng.random() < 0.4 and fx + 120 < right:  # an input field beside it
            d.rectangle([fx, y - 3, fx + 120, y + size + 4], outline=(130, 130, 130),
                        fill=(30, 30, 30) if dark else (255, 255, 255))
        if col == 1 or W < 800:
            y += int(size * 2.4)
            col = 0
        else:
            col = 1
    for k, (en, zh_) in enumerate(items[-2:]):
        txt = zh_ if lang == "zh" else en
        f = fz if lang == "zh" else fe
        bw = int(d.textlength(txt, font=f)) + 24
        bx = W - 30 - (k + 1) * (bw + 10)
        d.rectangle([bx, H - 45, bx + bw, H - 45 + size + 14], outline=(120, 120, 120),
                    fill=(70, 70, 80) if dark else (225, 225, 225))
        d.text((bx + 12, H - 45 + 7), txt, fill=fg, font=f)
    return im, drawn, "dialog %dx%d, %d px, %d labels" % (W, H, size, len(drawn))


def photo_sources(ok):
    """The corpus's hand-checked photographs (build.py PHOTOS), sources
    refused like the corpus's; cut-out stamps left out (not scenes)."""
    out = []
    for pkg, names in cb.PHOTOS.items():
        if pkg == "tuxpaint-stamps-default":
            continue
        for f in cb.pkg_files(pkg):
            if re.search(r"\.(jpe?g|png)$", f, re.I) and os.path.isfile(f) and \
                    any(f.endswith("/" + n) for n in names) and ok(f):
                out.append(f)
    return sorted(out)


def r_photo(rng, lang, pairs, src):
    """Text in a scene: a sign plate (turned a little, sometimes in
    perspective) or a caption with an outline, on a crop of a photograph."""
    im = Image.open(src)
    im.draft("RGB", (1600, 1600))
    im = im.convert("RGB")
    w, h = im.size
    frac = rng.uniform(0.6, 1.0)
    cw, ch = max(64, int(w * frac)), max(64, int(h * frac))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    im = im.crop((x, y, x + cw, y + ch))
    side = rng.choice([480, 640, 800, 1024, 1280])
    s = side / max(im.size)
    im = im.resize((max(32, int(im.size[0] * s)), max(32, int(im.size[1] * s))), Image.LANCZOS)
    W, H = im.size
    picks = [p for p in rng.sample(pairs, min(len(pairs), 80)) if 3 <= len(p[0]) <= 24 and len(p[1]) <= 10
             and not re.search(r"[%_\n$<>{}&]", p[0] + p[1])][:2]
    n = 1 if rng.random() < 0.6 else 2
    texts = []
    for i, (en, zh_) in enumerate(picks[:n]):
        texts.append(zh_ if lang == "zh" or (lang == "mixed" and i % 2) else en)
    if not texts:
        return im, [], "photo, no text"
    style = rng.choice(["plate", "plate", "caption"])
    size = max(14, int(min(W, H) * rng.uniform(0.045, 0.11)))
    fonts = [ImageFont.truetype(rng.choice(ZH_FONTS if HAN.search(t) else
                                           [x for x in EN_FONTS if "Bold" in x] or EN_FONTS), size)
             for t in texts]
    tmp = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    tw = [int(tmp.textlength(t, font=f)) for t, f in zip(texts, fonts)]
    while max(tw) > W * 0.85 and size > 14:
        size = int(size * 0.85)
        fonts = [ImageFont.truetype(f.path, size) for f in fonts]
        tw = [int(tmp.textlength(t, font=f)) for t, f in zip(texts, fonts)]
    lh = int(size * 1.35)
    if style == "plate":
        pad = int(size * 0.6)
        pw, ph = max(tw) + 2 * pad, lh * len(texts) + 2 * pad
        bg, fg = rng.choice([((20, 110, 60), (255, 255, 255)), ((250, 250, 250), (20, 20, 20)),
                             ((190, 30, 35), (255, 255, 255)), ((20, 50, 140), (255, 255, 255)),
                             ((250, 200, 30), (10, 10, 10))])
        plate = Image.new("RGBA", (pw, ph), bg + (255,))
        d = ImageDraw.Draw(plate)
        d.rectangle([3, 3, pw - 4, ph - 4], outline=fg + (255,), width=max(1, size // 12))
        for i, (t, f) in enumerate(zip(texts, fonts)):
            d.text(((pw - tw[i]) // 2, pad + i * lh), t, fill=fg + (255,), font=f)
        ang = rng.uniform(-10, 10)
        plate = plate.rotate(ang, resample=Image.BICUBIC, expand=True)
        how = "sign plate %dx%d, turned %.1f deg" % (pw, ph, ang)
        if rng.random() < 0.3:  # seen from the side: one edge shorter
            pw2, ph2 = plate.size
            k = rng.uniform(0.05, 0.15) * ph2
            coeffs = find_coeffs([(0, 0), (pw2, k), (pw2, ph2 - k), (0, ph2)],
                                 [(0, 0), (pw2, 0), (pw2, ph2), (0, ph2)])
            plate = plate.transform(plate.size, Image.PERSPECTIVE, coeffs, Image.BICUBIC)
            how += ", in perspective"
        if plate.size[0] >= W or plate.size[1] >= H:
            return im, [], "photo, sign too big"
        px, py = rng.randint(0, W - plate.size[0]), rng.randint(0, H - plate.size[1])
        im.paste(plate, (px, py), plate)
    else:
        d = ImageDraw.Draw(im)
        y0 = rng.choice([int(H * 0.06), H - lh * len(texts) - int(H * 0.06)])
        fill = rng.choice([(255, 255, 255), (255, 230, 0)])
        for i, (t, f) in enumerate(zip(texts, fonts)):
            d.text(((W - tw[i]) // 2, y0 + i * lh), t, fill=fill, font=f,
                   stroke_width=max(1, size // 14), stroke_fill=(0, 0, 0))
        how = "caption on the photo"
    if rng.random() < 0.3:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
        how += ", blurred"
    return im, texts, "photo %dx%d of %s, %s, %d px" % (W, H, os.path.basename(src), how, size)


def find_coeffs(dst, src):
    """PIL perspective coefficients mapping the output quad dst to src."""
    import numpy as np
    a = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array([c for p in src for c in p], dtype=float)
    return np.linalg.solve(np.array(a, dtype=float), b).tolist()


GREEK = "αβγθφ"


def r_figure(rng, lang, pairs, src):
    """A geometry figure: a triangle or quadrilateral, maybe its circle,
    points named by letters, sides by lengths, one angle by degrees or a
    Greek letter, and sometimes a caption. Everything named is key text."""
    import math
    W, H = rng.choice([(640, 480), (800, 600), (600, 600), (1000, 700), (480, 400)])
    im = Image.new("RGB", (W, H), rng.choice([(255, 255, 255), (250, 250, 246)]))
    d = ImageDraw.Draw(im)
    size = rng.choice([16, 18, 20, 24, 28, 32])
    fen = ImageFont.truetype(rng.choice(EN_FONTS), size)
    n = rng.choice([3, 3, 4])
    cx, cy, r = W / 2, H / 2 + size * 0.3, min(W, H) * rng.uniform(0.28, 0.36)
    angs = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
    while min((angs[(i + 1) % n] - angs[i]) % (2 * math.pi) for i in range(n)) < 0.6:
        angs = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
    pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angs]
    lw = rng.choice([1, 2, 3])
    ink = (20, 20, 20)
    if rng.random() < 0.4:
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(60, 60, 160), width=lw)
    d.polygon(pts, outline=ink)
    for i in range(n):
        d.line([pts[i], pts[(i + 1) % n]], fill=ink, width=lw)
    start = rng.choice("ABCDEFMPQ")
    letters = [chr(ord(start) + i) for i in range(n)] if ord(start) + n <= ord("Z") else list("ABCD"[:n])
    drawn = []
    for (x, y), L in zip(pts, letters):
        ux, uy = x - cx, y - cy
        k = math.hypot(ux, uy) or 1
        lx, ly = x + ux / k * size * 1.0 - size * 0.3, y + uy / k * size * 1.0 - size * 0.55
        d.text((lx, ly), L, fill=ink, font=fen)
        drawn.append(L)
    for i in rng.sample(range(n), rng.randint(1, 2)):  # side lengths
        (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % n]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        ux, uy = mx - cx, my - cy
        k = math.hypot(ux, uy) or 1
        t = rng.choice(["%d cm" % rng.randint(2, 12), "%.1f" % rng.uniform(1, 9), "%d" % rng.randint(2, 20)])
        tw = d.textlength(t, font=fen)
        d.text((mx + ux / k * size * 0.9 - tw / 2, my + uy / k * size * 0.9 - size / 2), t, fill=ink, font=fen)
        drawn.append(t)
    j = rng.randrange(n)  # an angle at vertex j, drawn inside
    (x, y) = pts[j]
    t = rng.choice(["%d°" % rng.choice([30, 45, 60, 72, 90, 120]), rng.choice(GREEK)])
    tw = d.textlength(t, font=fen)
    d.text((x + (cx - x) * 0.28 - tw / 2, y + (cy - y) * 0.28 - size / 2), t, fill=(160, 20, 20), font=fen)
    drawn.append(t)
    if rng.random() < 0.5 and pairs:
        en, zh_ = rng.choice([p for p in pairs if 4 <= len(p[0]) <= 30 and
                              not re.search(r"[%_\n$<>{}&]", p[0] + p[1])] or pairs[:1])
        cap = zh_ if lang == "zh" else en
        f = ImageFont.truetype(rng.choice(ZH_FONTS), size) if HAN.search(cap) else fen
        cw = d.textlength(cap, font=f)
        if cw < W * 0.9:
            d.text(((W - cw) / 2, H - size * 1.6), cap, fill=ink, font=f)
            drawn.append(cap)
    return im, drawn, "figure %dx%d, %d-gon, %d px labels, line %d" % (W, H, n, size, lw)


def keys_of(drawn, kind, lang, rng):
    if kind == "columns":
        return rng.sample(drawn, min(len(drawn), 6))
    if kind == "document":
        out = []
        for ln in rng.sample(drawn, min(len(drawn), 40)):
            p = phrase(ln, lang == "zh", rng)
            if p and p not in out:
                out.append(p)
            if len(out) == 5:
                break
        return out
    if kind == "figure":
        return [t for t in drawn if t.strip()]
    out = []
    for t in drawn:
        t = t.strip()
        zh = bool(HAN.search(t))
        if zh:
            runs = [r for r in HAN.findall(t) if len(r) >= 2]
            if runs:
                out.append(max(runs, key=len))
        else:
            # the longest run of ASCII words: brackets, marks and accents
            # are left to the rule's own tests
            runs = re.findall(r"[A-Za-z0-9][A-Za-z0-9 '-]*[A-Za-z0-9]", t)
            runs = [r for r in runs if re.search(r"[A-Za-z]{3}", r)]
            if runs:
                out.append(max(runs, key=len))
    rng.shuffle(out)
    return out[:6]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/ocrset")
    ap.add_argument("--n", type=int, default=12, help="images per kind and language")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--kinds", default="", help="only these kinds (comma list)")
    a = ap.parse_args()
    ev = cb.shared_eval_dir()
    holdout = os.environ.get("ODX_HOLDOUT") or os.path.join(ev, "holdout-sources.tsv")
    if not os.path.isfile(holdout):
        sys.stderr.write("ocr_set: holdout list %s not found: cannot check sources\n" % holdout)
        return 1
    ex = cb.Excluded(holdout)
    ex.add_dev(os.path.join(ev, "dev", "manifest.tsv"))
    ex.add_field()

    def ok(p):
        why = ex.why(p)
        if why:
            sys.stderr.write("ocr_set: refused %s (%s source)\n" % (p, why))
        return not why

    docs = {"en": [], "zh": []}
    for f in sorted(glob.glob("/usr/share/doc/debian-reference-zh-cn/docs/ch*.html")):
        lang = "zh" if ".zh-cn." in f else "en" if ".en." in f else None
        if lang and ok(f):
            docs[lang].append(f)
    mos = [f for f in sorted(glob.glob("/usr/share/locale/zh_CN/LC_MESSAGES/*.mo")) if ok(f)]
    ui = []
    for f in mos:
        if os.path.basename(f).startswith("iso_"):
            continue
        ui += [(x, y, f) for x, y in read_mo(f) if len(x) < 60]
    names = []
    for f in mos:
        if os.path.basename(f) in ("iso_3166-1.mo", "iso_4217.mo", "iso_639-2.mo"):
            names += [(x, y, f) for x, y in read_mo(f) if len(x) < 40 and x != y]
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    rows = []
    plan = [("document", "en"), ("document", "zh"), ("table", "en"), ("table", "zh"),
            ("table", "mixed"), ("poster", "en"), ("poster", "zh"), ("screenshot", "en"),
            ("screenshot", "zh"), ("screenshot", "mixed"), ("photo", "en"), ("photo", "zh"),
            ("figure", "en"), ("figure", "zh"), ("columns", "en"), ("columns", "zh")]
    if a.kinds:
        plan = [p for p in plan if p[0] in a.kinds.split(",")]
    photos = photo_sources(ok)
    for kind, lang in plan:
        for i in range(a.n):
            r = random.Random("%d %s %s %d" % (a.seed, kind, lang, i))
            if kind in ("document", "columns"):
                src = r.choice(docs["zh" if lang == "zh" else "en"])
                fn = r_document if kind == "document" else r_columns
                im, drawn, how = fn(r, lang, html_text(src), src)
            elif kind == "photo":
                src = r.choice(photos)
                im, drawn, how = r_photo(r, lang, [(x, y) for x, y, f in ui], src)
            else:
                pool = names if kind == "table" else ui
                src = r.choice(sorted(set(p[2] for p in pool)))
                pairs = [(x, y) for x, y, f in pool if f == src]
                if len(pairs) < 30:
                    pairs = [(x, y) for x, y, f in pool]
                    src = "several catalogues"
                fn = {"table": r_table, "poster": r_poster, "screenshot": r_screenshot,
                      "figure": r_figure}[kind]
                im, drawn, how = fn(r, lang, pairs, src)
            keys = keys_of(drawn, kind, lang, r)
            if not keys:
                continue
            name = "%s_%s_%02d" % (kind[:3], lang, i)
            domain = {"figure": "diagram", "columns": "document"}.get(kind, kind)
            if r.random() < 0.3:
                q = r.choice([70, 85, 92])
                im.save(os.path.join(a.out, "images", name + ".jpg"), quality=q)
                name += ".jpg"
                how += "; JPEG q%d" % q
            else:
                im.save(os.path.join(a.out, "images", name + ".png"))
                name += ".png"
            klang = "zh" if lang == "zh" else lang
            rows.append("\t".join([name, domain, "-", klang, how, "; ".join(k.replace(";", ",") for k in keys),
                                   "%s (%s)" % (src, how)]))
    with open(os.path.join(a.out, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tdomain\tchart_type\tlanguage\tdescription\tkey_text\tprovenance\n")
        for r in rows:
            f.write(r + "\n")
    print("ocr_set: %d images in %s" % (len(rows), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
