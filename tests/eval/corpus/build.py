#!/usr/bin/python3
"""build.py - the by-construction domain corpus (issue 13).

Builds images of the seven domains (photo document table chart screenshot
poster diagram) from files of installed Debian 12 packages, where the domain
is known from how the image is made: a PDF page whose text layer is running
prose is a document, a chart is drawn with matplotlib from a package's data
file, a table is drawn from a data file's rows, a graph of package
dependencies drawn by graphviz is a diagram, a GUI manual's dialog figures are
screenshots, a logo's SVG or a font specimen is a poster, a wallpaper package's
photograph (hand-checked list below) is a photo.

usage: tests/eval/corpus/build.py [--out DIR] [--list] [--seed N]
                                   [--per-domain N] [--manifest-copy FILE]
  --out DIR    images go to DIR/images, the manifest to DIR/manifest.tsv
               (default /work/corpus; never inside the source tree)
  --list       dry run: print every candidate source (package, path, page)
               the builder would render, one a line, and render nothing
  --per-domain N  at most N images per domain (default 400)
  --manifest-copy FILE  also write the manifest there (the committed copy,
               tests/eval/corpus/manifest.tsv)
  --resplit MANIFEST  recompute the train/validation split of a built
               corpus (what a full build does after rendering)

Sources never used: every entry of the private holdout list
(../shared/eval/holdout-sources.tsv beside the checkout, or ODX_HOLDOUT),
compared after resolving symbolic links (/usr/share/doc/r-doc-pdf/manual/X.pdf
is /usr/share/R/doc/manual/X.pdf), with a page entry excluding that page of a
PDF and a path entry the whole file; and every source of the dev set
(../shared/eval/dev/manifest.tsv provenance) and of the field set
(tests/eval/field_set.sh --list), which stay checks. Without the holdout
list the builder refuses to run. A refused candidate is said on stderr.

Split: by package, no package in both (see assign_splits). Provenance per
image: package, path, page, and how it was rendered. Tools: see deps.sh.
Enumeration (--list) needs only python3 and poppler's pdfinfo; rendering
needs python3-matplotlib, python3-pil, poppler-utils, librsvg2-bin, graphviz.
"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DOMAINS = ["photo", "document", "table", "chart", "screenshot", "poster", "diagram"]

# --------------------------------------------------------------- sources ----


def shared_eval_dir():
    """../shared/eval beside the checkout, or beside the main checkout of a worktree."""
    d = os.path.join(ROOT, "..", "shared", "eval")
    if os.path.isdir(d):
        return d
    try:
        common = subprocess.run(["git", "-C", ROOT, "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], capture_output=True, text=True).stdout.strip()
        if common:
            return os.path.join(os.path.dirname(common), "..", "shared", "eval")
    except OSError:
        pass
    return d


def real(p):
    return os.path.realpath(p) if p.startswith("/") else p


class Excluded:
    """Sources that must not be used: (realpath, page or None) and dataset names."""

    def __init__(self, holdout):
        self.whole = {}   # realpath -> why
        self.pages = {}   # (realpath, page) -> why
        self.n = 0
        for line in open(holdout, encoding="utf-8"):
            if line.startswith("#") or not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 2:
                continue
            self.add(f[1], f[2] if len(f) > 2 else "", "holdout")
            self.n += 1

    def add(self, path, page, why):
        m = re.match(r"page (\d+)", page or "")
        key = path if path.startswith("dataset ") else real(path)
        if m:
            self.pages[(key, int(m.group(1)))] = why
        else:
            self.whole[key] = why

    def add_dev(self, manifest):
        if not os.path.isfile(manifest):
            return
        for line in open(manifest, encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            if len(f) < 7 or f[0] == "file":
                continue
            prov = f[6]
            m = re.match(r"[^:]+:(/[^ ]+)", prov)
            if not m:
                continue
            path = m.group(1)
            pm = re.search(r"\(page (\d+)", prov)
            dm = re.search(r"dataset ([A-Za-z0-9_.]+)", prov)
            if dm:
                self.whole["dataset " + dm.group(1)] = "dev"
            elif pm:
                self.add(path, "page " + pm.group(1), "dev")
            else:
                self.add(path, "", "dev")
            # a data file drawn or tabulated for dev: keep the whole file out
            if "+" in prov or "selected rows" in prov or "entries" in prov:
                self.add(path, "", "dev")

    def add_field(self):
        fs = os.path.join(ROOT, "tests", "eval", "field_set.sh")
        env = dict(os.environ)
        try:
            out = subprocess.run(["sh", fs, "--list"], capture_output=True, text=True,
                                 env=env, timeout=120).stdout
        except (OSError, subprocess.TimeoutExpired):
            return
        for p in out.split():
            self.add(p, "", "field set")

    def why(self, path, page=None):
        key = path if path.startswith("dataset ") else real(path)
        if key in self.whole:
            return self.whole[key]
        if page is not None and (key, page) in self.pages:
            return self.pages[(key, page)]
        return None


def pkg_files(pkg):
    try:
        with open("/var/lib/dpkg/info/%s.list" % pkg, encoding="utf-8") as f:
            return [l.rstrip("\n") for l in f]
    except OSError:
        pass
    try:
        with open("/var/lib/dpkg/info/%s:amd64.list" % pkg, encoding="utf-8") as f:
            return [l.rstrip("\n") for l in f]
    except OSError:
        return []


def rcc_entries(path):
    """(name, bytes) of the files in a Qt resource bundle (.rcc): the
    "qres" header gives the offsets of the tree, the data and the names;
    a tree entry is a directory (children) or a file (data offset), names
    are UTF-16 with a length and a hash before them, data a length and the
    bytes, zlib-compressed after a 4-byte size when flag 1 is set (zstd,
    flag 4, is skipped)."""
    try:
        return _rcc_read(open(path, "rb").read())
    except (OSError, struct.error, zlib.error, UnicodeDecodeError, IndexError) as e:
        sys.stderr.write("corpus: %s: not a readable Qt resource bundle (%s); skipped\n" % (path, e))
        return []


def _rcc_read(b):
    if b[:4] != b"qres":
        raise zlib.error("no qres header")
    ver, tree, data, names = struct.unpack(">IIII", b[4:20])
    esz = 14 if ver == 1 else 22
    out, stack, seen = [], [(0, "")], set()
    while stack:
        i, prefix = stack.pop()
        if i in seen:  # a tree that points back at itself
            raise zlib.error("entry %d reached twice" % i)
        seen.add(i)
        e = tree + i * esz
        noff, flags = struct.unpack(">IH", b[e:e + 6])
        n, = struct.unpack(">H", b[names + noff:names + noff + 2])
        nm = b[names + noff + 6:names + noff + 6 + 2 * n].decode("utf-16-be") if i else ""
        if flags & 2:
            cnt, first = struct.unpack(">II", b[e + 6:e + 14])
            stack += [(first + k, prefix + nm + "/") for k in range(cnt)]
        elif not flags & 4:
            doff, = struct.unpack(">I", b[e + 10:e + 14])
            sz, = struct.unpack(">I", b[data + doff:data + doff + 4])
            blob = b[data + doff + 4:data + doff + 4 + sz]
            out.append((prefix + nm, zlib.decompress(blob[4:]) if flags & 1 else blob))
    return sorted(out)


_rcc = {}


def rcc_files(path):
    """rcc_entries of a bundle as a dict (name -> bytes), read once."""
    if path not in _rcc:
        _rcc[path] = dict(rcc_entries(path))
    return _rcc[path]


def installed(pkg):
    return bool(pkg_files(pkg))


def have(tool):
    return shutil.which(tool) is not None


# Photographs, checked by eye on a contact sheet (2026-12-03; the files of
# these packages not named here are illustrations, patterns or test
# charts). Each source gives several crops.
PHOTOS = {
    "lomiri-wallpapers-20.04": ["Infinite-Sea_by_Aury88.jpg"],
    "lomiri-wallpapers-16.04": ["analogpattern_by_Peter_Nerlich.jpg"],
    "python3-skimage": ["cell.png", "ihc.png", "motorcycle_right.png",
                        "OriginalX-130Y130.png", "TransformedX75Y75.png"],
    # one photograph and its retouched versions (blur, tone, colour)
    "gimp-help-en": ["filters/examples/" + n + ".jpg" for n in [
        "taj_orig", "taj_grayscale", "blur-taj-gauss", "blur-taj-lens", "blur-taj-focus",
        "color-taj-sepia", "color-taj-color-temperature", "color-taj-channelmixer",
        "enhance-taj-unsharp-mask", "tone-mapping-fattal", "tone-mapping-mantiuk",
        "tone-mapping-reinhard", "tone-mapping-stress"]] +
    ["tutorials/tone-mapping/" + n + ".jpg" for n in [
        "apple-orchard-truck-from-camera", "apple-orchard-truck-tone-mapped-with-Exposur",
        "before-auto-stretch-contrast", "after-auto-stretch-contrast", "power-lines",
        "tree-exposed-for-sky-ground-is-dark", "truck-tone-mapped-using-gegl-mantuik",
        "with-bilateral-smoothing-of-mask", "without-bilateral-smoothing-of-mask"]],
}
# cut-out photographs of one object (transparent background), put on a plain
# or tinted backdrop as in a product shot
PHOTOS["tuxpaint-stamps-default"] = [
    "animals/insects/fly.png", "animals/mammals/aquatic/otter.png",
    "animals/mammals/bears/european-bear.png", "animals/mammals/bovines/gnu-baby-stand.png",
    "food/fruit/Cherry_Stella.png", "household/toilet.png", "military/vehicles/f22_raptor.png",
    "vehicles/construction/dumper.png", "vehicles/flight/balloon360.png"]
# photographs shipped as drawing templates, landscape panoramas (sites with
# a dev or holdout source left out whole) and computer-vision sample photos
PHOTOS["tuxpaint-data"] = [n + ".jpg" for n in [
    "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_bark", "mossy_log",
    "mudstone", "ocean_splash", "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web",
    "sun_behind_clouds", "sun_behind_leaves", "trees_above", "trees_at_dusk", "wool_mill_machine"]]
PHOTOS["stellarium-data"] = ["guereins%d.png" % k for k in (1, 2, 3, 4, 5, 6, 8)]
PHOTOS["opencv-doc"] = [n + ".jpg" for n in [
    "plant", "aero1", "aero3", "aloeL", "apple", "baboon", "blox", "board", "building",
    "butterfly", "fruits", "home", "left01", "leuvenA", "leuvenB", "licenseplate_motion",
    "messi5", "orange", "ela_original"]]
# road signs (posters), drawn as tuxpaint stamps; put on a backdrop
SIGNS = [n + ".png" for n in [
    "arrow", "crossroads", "dead_end_sign", "give_way_sign", "no_entry_sign", "no_uturn",
    "railroad_crossing", "roundabout", "t-junction", "toilets", "xing_ped", "xing_school", "yield"]]
# GCompris bundles whose pictures are all photographs (checked by eye,
# 204 of them: about 100 monuments and landscapes, 16 wild animals, 28
# fishes, 39 tools, 29 dams / solar panels / windmills, 17 household things)
GCOMPRIS_RCC = ["explore_monuments.rcc", "explore_world_animals.rcc", "photo_hunter.rcc",
                "categorization.rcc"]
# Photos per source (crops); the retouched GIMP examples share one scene.
CROPS = {"gimp-help-en": 3, "tuxpaint-stamps-default": 4, "tuxpaint-data": 4,
         "stellarium-data": 4, "opencv-doc": 4}


class Cand:
    __slots__ = ("domain", "ctype", "lang", "pkg", "src", "page", "how", "args")

    def __init__(self, domain, pkg, src, how, page=None, ctype="-", lang="none", args=None):
        self.domain, self.pkg, self.src, self.how = domain, pkg, src, how
        self.page, self.ctype, self.lang, self.args = page, ctype, lang, args or {}

    def key(self):
        return "%s\t%s\t%s" % (self.pkg, self.src, "page %d" % self.page if self.page else "")


def pdf_pages(path):
    if not have("pdfinfo"):
        return 0
    try:
        out = subprocess.run(["pdfinfo", path], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r"^Pages:\s+(\d+)", out, re.M)
    return int(m.group(1)) if m else 0


# PDFs of documentation packages: pages whose text layer is prose become
# documents (checked at render time, see prose_page).
PDFS = [
    ("maint-guide", "/usr/share/doc/maint-guide/maint-guide.en.pdf", "en"),
    ("maint-guide-zh-cn", "/usr/share/doc/maint-guide-zh-cn/maint-guide.zh-cn.pdf", "zh"),
    ("debian-reference-en", "/usr/share/debian-reference/debian-reference.en.pdf", "en"),
    ("debian-reference-zh-cn", "/usr/share/debian-reference/debian-reference.zh-cn.pdf", "zh"),
    ("developers-reference", "/usr/share/developers-reference/developers-reference.pdf", "en"),
    ("debian-edu-doc-en", "/usr/share/doc/debian-edu-doc-en/debian-edu-bookworm-manual.pdf", "en"),
    ("debian-edu-doc-en", "/usr/share/doc/debian-edu-doc-en/debian-edu-bullseye-manual.pdf", "en"),
    ("debian-edu-doc-zh-cn", "/usr/share/doc/debian-edu-doc-zh-cn/debian-edu-bookworm-manual.pdf", "zh"),
    ("debian-edu-doc-zh-cn", "/usr/share/doc/debian-edu-doc-zh-cn/debian-edu-bullseye-manual.pdf", "zh"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-intro.pdf", "en"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-admin.pdf", "en"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-exts.pdf", "en"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-lang.pdf", "en"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-ints.pdf", "en"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-FAQ.pdf", "en"),
    ("r-doc-pdf", "/usr/share/R/doc/manual/R-data.pdf", "en"),
    ("asymptote-doc", "/usr/share/doc/asymptote/asymptote.pdf", "en"),
    ("gnuplot-doc", "/usr/share/doc/gnuplot/gnuplot.pdf", "en"),
    ("octave-doc", "/usr/share/doc/octave/octave.pdf", "en"),
    ("octave-doc", "/usr/share/doc/octave/liboctave.pdf", "en"),
    ("libtasn1-doc", "/usr/share/doc/libtasn1-doc/libtasn1.pdf", "en"),
    ("shared-mime-info", "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf", "en"),
]

# Plain-text documents rendered as pages (base-files is always there).
TEXTS = [
    ("base-files", "/usr/share/common-licenses/GPL-3", "en"),
    ("base-files", "/usr/share/common-licenses/GPL-2", "en"),
    ("base-files", "/usr/share/common-licenses/LGPL-2.1", "en"),
    ("base-files", "/usr/share/common-licenses/LGPL-3", "en"),
    ("base-files", "/usr/share/common-licenses/Artistic", "en"),
    ("base-files", "/usr/share/common-licenses/Apache-2.0", "en"),
    ("base-files", "/usr/share/common-licenses/MPL-2.0", "en"),
    ("base-files", "/usr/share/common-licenses/CC0-1.0", "en"),
    ("base-files", "/usr/share/common-licenses/GFDL-1.3", "en"),
]


def enumerate_candidates(rng):
    c = []
    # photos: several crops per photograph
    for pkg, names in PHOTOS.items():
        for f in pkg_files(pkg):
            if not re.search(r"\.(jpe?g|png)$", f, re.I) or not os.path.isfile(f):
                continue
            if pkg == "plasma-workspace-wallpapers":
                m = re.search(r"/wallpapers/([^/]+)/contents/images/(\d+)x(\d+)\.", f)
                if not m or m.group(1) not in names or m.group(2) != "1920":
                    continue
            elif pkg == "gimp-help-en":
                if not any(f.endswith("/images/" + n) for n in names):
                    continue
            elif pkg == "tuxpaint-stamps-default":
                if not any(f.endswith("/stamps/" + n) for n in names):
                    continue
            elif pkg == "stellarium-data":
                if "/landscapes/guereins/" not in f or os.path.basename(f) not in names:
                    continue
            elif pkg == "opencv-doc":
                if "/examples/" not in f or os.path.basename(f) not in names:
                    continue
            elif os.path.basename(f) not in names:
                continue
            for k in range(CROPS.get(pkg, 8)):
                c.append(Cand("photo", pkg, f, "photo", args={"crop": k}))
    # photographs of GCompris's activities (monuments, animals, fishes, tools,
    # dams and windmills, household things), inside its Qt resource bundles
    for f in pkg_files("gcompris-qt-data"):
        if os.path.basename(f) in GCOMPRIS_RCC and os.path.isfile(f):
            for name in sorted(rcc_files(f)):
                if re.search(r"\.(webp|jpe?g|png)$", name) and not re.search(r"/(alphabets|numbers)/", name):
                    for k in range(2):
                        c.append(Cand("photo", "gcompris-qt-data", f, "photo",
                                      args={"crop": k, "entry": name}))
    # documents: PDF pages, text pages
    for pkg, path, lang in PDFS:
        if not os.path.isfile(path):
            continue
        n = pdf_pages(path)
        if n < 3:
            continue
        pages = sorted(rng.sample(range(2, n + 1), min(n - 1, 36)))
        for p in pages:
            c.append(Cand("document", pkg, path, "pdfpage", page=p, lang=lang))
    for pkg, path, lang in TEXTS:
        if os.path.isfile(path):
            for k in range(4):
                c.append(Cand("document", pkg, path, "textpage", lang=lang, args={"part": k}))
    # tables and charts: rows of package data files
    for si, (pkg, path, kind) in enumerate(data_sources()):
        for k in range(24):
            c.append(Cand("table", pkg, path, "table", args={"kind": kind, "v": k}))
        for k in range(30):
            c.append(Cand("chart", pkg, path, "chart", args={"kind": kind, "v": k}))
        for k in range(5):
            c.append(Cand("chart", pkg, path, "sciplot",
                          args={"kind": kind, "v": (si * 5 + k) % len(SCI_KINDS)}))
    # screenshots: dialog and window figures of GUI manuals
    for pkg, pat in [("gimp-help-en", r"/help/en/images/(dialogs|menus|preferences|tool-options|toolbox)/"),
                     ("kicad-doc-en", r"/help/en/images/[^/]+\.png$"),
                     ("kicad-doc-zh", r"/help/zh/images/zh/[^/]+\.png$"),
                     ("marble-data", r"/doc/HTML/[^/]+/marble/[^/]+\.png$")]:
        for f in pkg_files(pkg):
            if re.search(pat, f) and f.endswith(".png") and os.path.isfile(f):
                c.append(Cand("screenshot", pkg, f, "docshot", lang="zh" if "-zh" in pkg else "en"))
    # terminals: text of package changelogs/READMEs as a terminal window
    for pkg in TERMINAL_PKGS:
        files = [f for f in pkg_files(pkg) if f.startswith("/usr/bin/") or f.startswith("/bin/")]
        if files:
            for k in range(5):
                c.append(Cand("screenshot", pkg, "/var/lib/dpkg/info/%s.list" % pkg, "terminal",
                              lang="en", args={"v": k}))
    # posters: SVG logos/artwork, font specimens
    for f in sorted(glob.glob("/usr/share/icons/hicolor/scalable/apps/*.svg")):
        pkg = owner(f)
        if pkg:
            c.append(Cand("poster", pkg, f, "svg", args={}))
    for f in pkg_files("tuxpaint-stamps-default"):
        if "/town/roadsigns/" in f and os.path.basename(f) in SIGNS:
            for k in range(3):
                c.append(Cand("poster", "tuxpaint-stamps-default", f, "sign", args={"v": k}))
    for pkg, fonts in font_packages().items():
        for f in fonts:
            for k in range(8):
                c.append(Cand("poster", pkg, f, "specimen", args={"v": k},
                              lang="zh" if zh_font_pkg(pkg) else "en"))
    # font sample sheets (a face's name, its alphabet, a waterfall of sizes)
    for pkg, fonts in font_packages().items():
        for f in fonts[:3]:
            for k in range(2):
                c.append(Cand("poster", pkg, f, "fontsheet", args={"v": k},
                              lang="zh" if zh_font_pkg(pkg) else "en"))
    # desktop themes: the login screen's artwork, which letters the
    # distribution's name (wallpapers and lock screens of some themes have
    # none: left out, as are the "nologo" variants)
    for f in pkg_files("desktop-base"):
        if re.search(r"-theme/login/background\.svg$", f) and os.path.isfile(f):
            for k in range(2):
                c.append(Cand("poster", "desktop-base", f, "theme", args={"v": k}))
    # HTML documentation pages (rendered by headless Chromium with the page's
    # own style sheets): runs of paragraphs are documents, data tables tables
    if have("chromium"):
        for pkg, files in sorted(html_packages().items()):
            sample = files if len(files) <= 40 else sorted(rng.sample(files, 40))
            n_doc = n_tab = 0
            for f in sample:
                info = html_info(f)
                if not info:
                    continue
                lang = "zh" if zh_pkg(pkg) or info["cjk"] else "en"
                if info["prose"] and n_doc < 16:
                    for k in range(2):
                        c.append(Cand("document", pkg, f, "htmldoc", lang=lang, args={"part": k}))
                    n_doc += 1
                for j in range(min(info["tables"], 3)):
                    if n_tab < 24:
                        c.append(Cand("table", pkg, f, "htmltable", lang=lang, args={"t": j}))
                        n_tab += 1
    # diagrams: dependency graphs of packages (graphviz), geometry figures,
    # sheets of line-drawing symbols of xfig's libraries joined by connectors
    for k, pkg in enumerate(dep_packages()):
        c.append(Cand("diagram", pkg, "/var/lib/dpkg/status", "graphviz", args={}))
        if k % 4 == 0:
            c.append(Cand("diagram", pkg, "/var/lib/dpkg/status", "netgraph", args={}))
        elif k % 4 == 2:
            c.append(Cand("diagram", pkg, "/var/lib/dpkg/status", "blocks", args={"v": k // 4}))
    for pkg, path, kind in data_sources()[:6]:
        for k in range(4):
            c.append(Cand("diagram", pkg, path, "geometry", args={"v": k}))
    if have("fig2dev"):
        for lib in XFIG_LIBS:
            d = "/usr/share/xfig/Libraries/" + lib
            if os.path.isdir(d):
                for k in range(10):
                    c.append(Cand("diagram", "xfig-libs", d, "figsheet", args={"v": k}))
    return c


# Packages whose files and programs fill the terminal windows. Every other
# one is kept in train (assign_splits): left to the split alone, these small
# packages all fitted in validation, and train had no terminal to learn from.
TERMINAL_PKGS = ["coreutils", "bash", "dpkg", "apt", "grep", "sed", "tar", "gzip", "findutils",
                 "util-linux", "procps", "less", "diffutils", "login", "passwd", "debianutils",
                 "e2fsprogs", "iproute2", "ncurses-bin", "bsdutils", "git", "gcc-12", "xz-utils",
                 "bzip2", "openssh-client", "zip", "unzip", "man-db", "hostname", "mount"]


def zh_font_pkg(pkg):
    return "wqy" in pkg or "arphic" in pkg


def zh_pkg(pkg):
    return "-zh" in pkg


# HTML documentation: where packages keep it
HTML_ROOTS = ("/usr/share/doc/", "/usr/share/gtk-doc/", "/usr/share/debian-reference/",
              "/usr/share/developers-reference/", "/usr/share/gimp/2.0/help/")


def html_packages():
    """package -> its HTML documentation pages (packages with at least 5)."""
    out = {}
    for lst in sorted(glob.glob("/var/lib/dpkg/info/*.list")):
        p = os.path.basename(lst)[:-5].split(":")[0]
        try:
            for l in open(lst, encoding="utf-8", errors="replace"):
                l = l.rstrip("\n")
                if l.endswith((".html", ".htm")) and l.startswith(HTML_ROOTS) and os.path.isfile(l):
                    out.setdefault(p, []).append(l)
        except OSError:
            pass
    return {p: sorted(set(fs)) for p, fs in out.items() if len(fs) >= 5}


def html_read(path):
    raw = open(path, "rb").read()
    head = raw[:2048].lower()
    enc = "latin-1" if re.search(rb"charset=[\"']?(iso-8859-1|latin1|windows-1252)", head) else "utf-8"
    return raw.decode(enc, "replace")


def html_text(s):
    import html as H
    s = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", s, flags=re.S | re.I)
    return re.sub(r"\s+", " ", H.unescape(re.sub(r"<[^>]+>", " ", s))).strip()


def html_tables(body):
    """(start, end) of the outermost <table> elements."""
    spans, depth, start = [], 0, 0
    for m in re.finditer(r"<(/?)table\b[^>]*>", body, re.I):
        if not m.group(1):
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                spans.append((start, m.end()))
    return spans


def data_table(t):
    """A table of data, not one of layout or navigation: no nested table,
    listing or picture, no navigation/menu/index/toc class, at least 4 rows
    of which most have 2 or more cells, most cells filled, cells short; and
    a header row or at least 3 filled columns (two header-less columns are
    as often a list of parameters, signatures or links as a table; a
    column counts where most of its cells hold text)."""
    head = t[:t.find(">") + 1].lower()
    if re.search(r"nav|menu|index|toc|header|footer|layout", head) or \
            re.search(r"<table\b", t[6:], re.I) or re.search(r"<(pre|img|iframe|form|svg)\b", t, re.I):
        return False
    rows = re.split(r"<tr\b[^>]*>", t, flags=re.I)[1:]
    cells = [[html_text(x) for x in re.split(r"<t[dh]\b[^>]*>", r, flags=re.I)[1:]] for r in rows]
    cells = [r for r in cells if r]
    if len(cells) < 4 or sum(1 for r in cells if len(r) >= 2) < 0.75 * len(cells):
        return False
    if not re.search(r"<th\b", t, re.I):
        ncol = max(len(r) for r in cells)
        full = sum(1 for j in range(ncol)
                   if sum(1 for r in cells if j < len(r) and r[j].strip("> ")) >= 0.5 * len(cells))
        if full < 3:
            return False
    flat = [x for r in cells for x in r]
    filled = [x for x in flat if x.strip("> ")]
    if len(filled) < 0.6 * len(flat) or len(filled) < 8:
        return False
    return sum(len(x) for x in filled) / len(filled) <= 60


def html_paragraphs(body):
    """Headings and paragraphs of running text outside tables, in order:
    (html, text, is_heading)."""
    for a, b in reversed(html_tables(body)):
        body = body[:a] + body[b:]
    body = re.sub(r"<(script|style|pre)\b.*?</\1\s*>", "", body, flags=re.S | re.I)
    out = []
    for m in re.finditer(r"<(p|h[1-4])\b[^>]*>(.*?)</\1\s*>", body, re.S | re.I):
        inner = m.group(0)
        if re.search(r"<(img|table|pre|svg|iframe)\b", inner, re.I):
            continue
        t = html_text(inner)
        head = m.group(1).lower() != "p"
        cjk = sum(1 for ch in t if "\u4e00" <= ch <= "\u9fff")
        if head or len(t) >= 60 or cjk >= 25:
            out.append((inner, t, head))
    return out


_html_cache = {}


def html_info(path):
    """What a page offers: prose (a run of paragraphs long enough for a
    page), its data tables, whether it is Chinese; None when unreadable."""
    if path in _html_cache:
        return _html_cache[path]
    info = None
    try:
        txt = html_read(path)
        paras = [p for p in html_paragraphs(txt) if not p[2]]
        chars = sum(len(p[1]) for p in paras)
        cjk = sum(1 for p in paras for ch in p[1] if "\u4e00" <= ch <= "\u9fff")
        tabs = [(a, b) for a, b in html_tables(txt) if data_table(txt[a:b])]
        info = {"prose": len(paras) >= 3 and (chars >= 1200 or cjk >= 400),
                "tables": len(tabs), "cjk": cjk > 0.2 * max(1, chars)}
    except (OSError, ValueError):
        pass
    _html_cache[path] = info
    return info


# xfig's symbol libraries of line drawings (schematics, flow charts, network
# and UML symbols...); the pictorial ones (flags, maps, buildings, clip art,
# examples) are left out
XFIG_LIBS = ["ERD", "Flowchart", "Logic", "Networks", "UML", "DSP", "ProcessFlowsheet",
             "Structural_Analysis", "Optics", "Electronic", "Mechanical_DIN", "Electrical"]


_owner_cache = {}


def owner(path):
    if not _owner_cache:
        for lst in glob.glob("/var/lib/dpkg/info/*.list"):
            p = os.path.basename(lst)[:-5].split(":")[0]
            try:
                for l in open(lst, encoding="utf-8", errors="replace"):
                    if "/icons/hicolor/scalable/apps/" in l or "/fonts/" in l:
                        _owner_cache[l.rstrip("\n")] = p
            except OSError:
                pass
    return _owner_cache.get(path)


def font_packages():
    out = {}
    for f in sorted(glob.glob("/usr/share/fonts/truetype/*/*.tt[fc]")):
        p = owner(f)
        # text faces only (no maths, symbol or TeX glyph fonts)
        if p and p.startswith("fonts-") and not re.search(r"Math|Symbol|Dingbat|cm[a-z]+\d|esint",
                                                          os.path.basename(f)):
            out.setdefault(p, []).append(f)
    # a few faces of each family package
    return {p: fs[:6] for p, fs in out.items()}


def data_sources():
    """(package, path, kind) of data files with rows of numbers or names."""
    s = []
    for pkg, path, kind in [
        ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv", "csv"),
        ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv", "csv"),
        ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv", "csv"),
        ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv", "csv"),
        ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data/linnerud_exercise.csv", "ws"),
        ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data/linnerud_physiological.csv", "ws"),
        ("python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/msft.csv", "csv"),
        ("python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/data_x_x2_x3.csv", "ws"),
        ("python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/Stocks.csv", "csv"),
        ("python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/topobathy.npz", "skip"),
        ("tzdata", "/usr/share/zoneinfo/zone1970.tab", "tab"),
        ("tzdata", "/usr/share/zoneinfo/iso3166.tab", "tab"),
        ("netbase", "/etc/protocols", "ws"),
        ("media-types", "/etc/mime.types", "ws"),
        ("iso-codes", "/usr/share/iso-codes/json/iso_639-3.json", "json"),
        ("iso-codes", "/usr/share/iso-codes/json/iso_15924.json", "json"),
        ("iso-codes", "/usr/share/iso-codes/json/iso_3166-2.json", "json"),
        ("iso-codes", "/usr/share/iso-codes/json/iso_4217.json", "json"),
        ("locales", "/usr/share/i18n/SUPPORTED", "ws"),
        ("dpkg", "/var/lib/dpkg/status", "status"),
        ("python3-skimage", "/usr/lib/python3/dist-packages/skimage/data/README.txt", "skip"),
        ("libc-bin", "/etc/ld.so.conf", "skip"),
        ("python3-scipy", "/usr/lib/python3/dist-packages/scipy/misc/ecg.dat", "skip"),
        ("ca-certificates", "/etc/ca-certificates.conf", "ws"),
        ("python3-numpy", "/usr/lib/python3/dist-packages/numpy/core/tests/data/umath-validation-set-log.csv", "csv"),
        ("python3-numpy", "/usr/lib/python3/dist-packages/numpy/core/tests/data/umath-validation-set-exp.csv", "csv"),
        ("python3-numpy", "/usr/lib/python3/dist-packages/numpy/core/tests/data/umath-validation-set-sin.csv", "csv"),
        ("python3-numpy", "/usr/lib/python3/dist-packages/numpy/core/tests/data/umath-validation-set-cos.csv", "csv"),
        ("python3-scipy", "/usr/lib/python3/dist-packages/scipy/stats/tests/data/nist_anova/AtmWtAg.dat", "skip"),
        ("tzdata", "/usr/share/zoneinfo/leap-seconds.list", "skip"),
        ("base-files", "/etc/debian_version", "skip"),
        ("fontconfig-config", "/etc/fonts/fonts.conf", "skip"),
        ("shared-mime-info", "/usr/share/mime/globs", "glob"),
        ("file", "/usr/share/misc/magic", "skip"),
        ("pci.ids", "/usr/share/misc/pci.ids", "ids"),
        ("usb.ids", "/var/lib/usbutils/usb.ids", "ids"),
        ("hwdata", "/usr/share/hwdata/pnp.ids", "ids"),
        ("unicode-data", "/usr/share/unicode/Blocks.txt", "blocks"),
    ]:
        if kind != "skip" and os.path.isfile(path) and installed(pkg):
            s.append((pkg, path, kind))
    return s


def dep_packages():
    out = []
    try:
        txt = open("/var/lib/dpkg/status", encoding="utf-8", errors="replace").read()
    except OSError:
        return out
    for block in txt.split("\n\n"):
        m = re.search(r"^Package: (\S+)", block, re.M)
        d = re.search(r"^Depends: (.+)", block, re.M)
        if m and d and d.group(1).count(",") >= 2:
            out.append(m.group(1))
    return sorted(out)


# ----------------------------------------------------------------- split ----


def assign_splits(items, seed):
    """Package-level split of the rendered images (items: (package, domain)
    pairs): packages in a seeded order; a package goes to validation while
    every domain it has images of stays under 30% of that domain's images
    there. No package is in both splits. The photos come from few packages:
    those are placed by hand, OpenCV's sample photos and a wallpaper package
    in validation, the rest (and the largest mixed sources) in train."""
    by_pkg = {}
    total = {d: 0 for d in DOMAINS}
    for pkg, dom in items:
        by_pkg.setdefault(pkg, {}).setdefault(dom, 0)
        by_pkg[pkg][dom] += 1
        total[dom] += 1
    pkgs = sorted(by_pkg)
    random.Random(seed).shuffle(pkgs)
    val = {d: 0 for d in DOMAINS}
    split = {}
    pinned_train = {"gcompris-qt-data", "gimp-help-en", "base-files", "dpkg", "python3-skimage", "xfig-libs",
                    "lomiri-wallpapers-20.04", "tuxpaint-stamps-default", "tuxpaint-data",
                    "stellarium-data"}
    pinned_train |= set(TERMINAL_PKGS[::2])
    pinned_val = {"opencv-doc", "lomiri-wallpapers-16.04"}
    pkgs = [p for p in pkgs if p in pinned_val] + [p for p in pkgs if p not in pinned_val]
    for p in pkgs:
        fits = all(val[d] + n <= 0.30 * total[d] for d, n in by_pkg[p].items())
        if p in pinned_val or (p not in pinned_train and fits):
            split[p] = "val"
            for d, n in by_pkg[p].items():
                val[d] += n
        else:
            split[p] = "train"
    return split


def resplit(manifest, seed):
    """Rewrites the split column of a manifest (--resplit)."""
    lines = open(manifest, encoding="utf-8").read().split("\n")
    head = lines[0].split("\t")
    ci, cp, cd = head.index("split"), head.index("package"), head.index("domain")
    rows = [l.split("\t") for l in lines[1:] if l]
    split = assign_splits([(r[cp], r[cd]) for r in rows], seed)
    for r in rows:
        r[ci] = split[r[cp]]
    with open(manifest, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n" + "".join("\t".join(r) + "\n" for r in rows))


# -------------------------------------------------------------- renderers ----


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=kw.pop("timeout", 120), **kw)


def save(im, out_base, rng, how, prefer=None):
    """Saves a PIL image as PNG or JPEG (varied quality); returns (file, how)."""
    fmt = prefer or ("jpg" if rng.random() < 0.35 else "png")
    if fmt == "jpg":
        q = rng.choice([45, 60, 75, 85, 92])
        im.convert("RGB").save(out_base + ".jpg", quality=q)
        return out_base + ".jpg", how + "; JPEG q%d" % q
    im.save(out_base + ".png")
    return out_base + ".png", how + "; PNG"


def resize_long(im, side):
    from PIL import Image
    w, h = im.size
    s = side / max(w, h)
    if s < 1:
        im = im.resize((max(1, int(w * s)), max(1, int(h * s))), Image.LANCZOS)
    return im


def r_photo(c, rng, base):
    from PIL import Image
    if "entry" in c.args:
        import io
        im = Image.open(io.BytesIO(rcc_files(c.src)[c.args["entry"]]))
    else:
        im = Image.open(c.src)
    im.draft("RGB", (2400, 2400))
    if c.pkg == "tuxpaint-stamps-default":
        im = im.convert("RGBA")
        bgc = rng.choice(["white", "white", "#f2f2f2", "#dfe6ee", "#202020"])
        pad = rng.randint(10, 120)
        bg = Image.new("RGB", (im.size[0] + 2 * pad, im.size[1] + 2 * pad), bgc)
        bg.paste(im, (pad, pad), im)
        return save(resize_long(bg, rng.choice([300, 480, 640])), base, rng,
                    "cut-out on %s, margin %d" % (bgc, pad), prefer="jpg")
    im = im.convert("RGB")
    w, h = im.size
    aspect = rng.choice([4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4, 2 / 3, 9 / 16])
    frac = rng.uniform(0.4, 1.0)
    cw = int(min(w, h * aspect) * frac)
    ch = int(cw / aspect)
    cw, ch = max(64, min(cw, w)), max(64, min(ch, h))
    x = rng.randint(0, w - cw)
    y = rng.randint(0, h - ch)
    im = im.crop((x, y, x + cw, y + ch))
    side = rng.choice([320, 480, 640, 1024, 1600, 2000])
    im = resize_long(im, side)
    im, tone = photo_tone(im, c)
    return save(im, base, rng, "%scrop %dx%d at %d,%d of %dx%d, saved %dx%d%s" %
                ("%s: " % c.args["entry"] if "entry" in c.args else "",
                 cw, ch, x, y, w, h, im.size[0], im.size[1], tone),
                prefer="jpg" if rng.random() < 0.8 else "png")


def photo_tone(im, c):
    """Exposure as cameras get it wrong or on purpose: a quarter of the crops
    darkened (dusk, night, a low-key shot: gamma and gain down), a tenth
    washed out; the rest as shot. Drawn from a generator of its own (seeded
    by the candidate), so that the crops stay those of earlier builds."""
    from PIL import ImageEnhance
    trng = random.Random(hashlib.sha256(("tone" + c.key() + repr(sorted(c.args.items())))
                                        .encode()).hexdigest())
    u = trng.random()
    if u < 0.25:
        g, k = trng.uniform(1.4, 2.4), trng.uniform(0.35, 0.7)
        lut = [min(255, int(255 * k * (i / 255) ** g)) for i in range(256)]
        return im.point(lut * 3), ", darkened (gamma %.1f, gain %.2f)" % (g, k)
    if u < 0.35:
        k = trng.uniform(1.3, 1.7)
        im = ImageEnhance.Brightness(im).enhance(k)
        return ImageEnhance.Color(im).enhance(0.7), ", washed out (gain %.1f)" % k
    return im, ""


def page_text(path, page):
    try:
        out = run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", path, "-"]).stdout
        return out.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def prose_page(text, lang):
    """Running text: enough characters, most of them in long lines, few of
    the lines cut into columns by runs of spaces (a table, a listing)."""
    lines = [l for l in text.split("\n") if l.strip()]
    if len(lines) < 12:
        return False
    chars = sum(len(l.strip()) for l in lines)
    wide = 30 if lang == "zh" else 55
    long_l = sum(1 for l in lines if len(l.strip()) >= wide)
    cols = sum(1 for l in lines if re.search(r"\S {3,}\S", l.strip()))
    return chars >= (500 if lang == "zh" else 1200) and long_l >= 0.45 * len(lines) and \
        cols <= 0.25 * len(lines)


def r_pdfpage(c, rng, base):
    from PIL import Image
    text = page_text(c.src, c.page)
    if not prose_page(text, c.lang):
        return None, "not prose"
    dpi = rng.choice([60, 72, 90, 100, 110, 130, 150])
    with tempfile.TemporaryDirectory() as t:
        r = run(["pdftoppm", "-f", str(c.page), "-l", str(c.page), "-r", str(dpi), "-png",
                 c.src, os.path.join(t, "p")])
        fs = glob.glob(os.path.join(t, "p*.png"))
        if r.returncode != 0 or not fs:
            return None, "pdftoppm failed"
        im = Image.open(fs[0]).convert("RGB")
    how = "pdftoppm -r %d" % dpi
    if rng.random() < 0.3:
        w, h = im.size
        y0 = rng.randint(0, h // 3)
        im = im.crop((0, y0, w, y0 + int(h * rng.uniform(0.45, 0.66))))
        how += ", a band of the page"
    return save(im, base, rng, how)


def font_for(lang, rng, mono=False):
    from PIL import ImageFont
    if lang == "zh":
        cands = glob.glob("/usr/share/fonts/truetype/wqy/*.tt[fc]")
    elif mono:
        cands = [f for f in glob.glob("/usr/share/fonts/truetype/*/*.ttf") if "Mono" in f]
    else:
        cands = [f for f in glob.glob("/usr/share/fonts/truetype/*/*.ttf")
                 if "Mono" not in f and "Bold" not in f]
    cands = sorted(cands) or ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
    return rng.choice(cands)


def r_textpage(c, rng, base):
    from PIL import Image, ImageDraw, ImageFont
    lines = open(c.src, encoding="utf-8", errors="replace").read().split("\n")
    start = c.args["part"] * 55
    chunk = [l.expandtabs() for l in lines[start:start + 60]]
    if sum(len(l) for l in chunk) < 1200:
        return None, "short"
    fpath = font_for("en", rng)
    size = rng.choice([12, 13, 14, 16, 18])
    font = ImageFont.truetype(fpath, size)
    W = rng.choice([700, 800, 900, 1000])
    H = int(W * rng.choice([1.3, 1.414, 1.2]))
    im = Image.new("RGB", (W, H), rng.choice(["white", "#fdfdf8", "#f4f4f4"]))
    d = ImageDraw.Draw(im)
    y = rng.randint(30, 70)
    for l in chunk:
        d.text((rng.randint(40, 60), y), l, fill="black", font=font)
        y += int(size * 1.4)
        if y > H - 40:
            break
    return save(im, base, rng, "text page drawn with PIL in %s %dpx, lines %d-%d" %
                (os.path.basename(fpath), size, start + 1, start + 60))


def load_rows(path, kind, rng):
    """Header and rows (lists of strings) of a data file."""
    rows, header = [], None
    txt = open(path, encoding="utf-8", errors="replace").read()
    if kind == "csv":
        import csv
        rd = list(csv.reader(txt.splitlines()))
        rd = [r for r in rd if r]
        if rd and len(rd) > 2 and len(rd[0]) < len(rd[1]):  # sklearn: counts line
            rd = rd[1:]
        header, rows = rd[0], rd[1:]
    elif kind in ("ws", "tab", "ids", "glob", "blocks"):
        for l in txt.splitlines():
            if not l.strip() or l.startswith("#") or l.startswith("\t\t"):
                continue
            if kind == "tab":
                f = l.split("\t")
            elif kind == "glob":
                f = l.split(":")
            elif kind == "blocks":
                m = re.match(r"([0-9A-F]+)\.\.([0-9A-F]+); (.+)", l)
                if not m:
                    continue
                a, b = int(m.group(1), 16), int(m.group(2), 16)
                f = [m.group(1), m.group(2), m.group(3), str(b - a + 1)]
            elif kind == "ids":
                m = re.match(r"(\t?)([0-9a-fA-F]{4})\s+(.+)", l)
                if not m:
                    continue
                f = [m.group(2), m.group(3)[:40]]
            else:
                f = l.split()
            rows.append(f)
        header = {"tab": ["code", "coordinates", "zone", "comment"],
                  "glob": ["type", "pattern"], "blocks": ["start", "end", "block", "size"],
                  "ids": ["id", "name"]}.get(kind)
    elif kind == "json":
        data = json.loads(txt)
        lst = list(data.values())[0]
        keys = [k for k in lst[0].keys()][:5]
        header = keys
        rows = [[str(e.get(k, "")) for k in keys] for e in lst]
    elif kind == "status":
        for block in txt.split("\n\n"):
            m = re.search(r"^Package: (\S+)", block, re.M)
            v = re.search(r"^Version: (\S+)", block, re.M)
            s = re.search(r"^Installed-Size: (\d+)", block, re.M)
            sec = re.search(r"^Section: (\S+)", block, re.M)
            if m and v and s:
                rows.append([m.group(1), v.group(1)[:18], sec.group(1) if sec else "-", s.group(1)])
        header = ["Package", "Version", "Section", "Installed-Size"]
    ncol = max((len(r) for r in rows), default=0)
    if not header or len(header) != ncol:
        header = (header or [])[:ncol] + ["col%d" % i for i in range(len(header or []), ncol)]
    rows = [r + [""] * (ncol - len(r)) for r in rows if r]
    return header, rows


def numeric_cols(header, rows):
    out = []
    for j in range(len(header)):
        vals = []
        for r in rows:
            try:
                vals.append(float(r[j]))
            except (ValueError, IndexError):
                break
        if len(vals) == len(rows) and len(vals) >= 3:
            out.append(j)
    return out


def r_table(c, rng, base):
    from PIL import Image, ImageDraw, ImageFont
    header, rows = load_rows(c.src, c.args["kind"], rng)
    if len(rows) < 4 or len(header) < 2:
        return None, "no rows"
    ncols = min(len(header), rng.choice([3, 4, 5, 6, 7]))
    c0 = rng.randint(0, max(0, len(header) - ncols))
    nrows = min(len(rows), rng.choice([6, 8, 10, 14, 18, 24, 30]))
    r0 = rng.randint(0, max(0, len(rows) - nrows))
    cells = [[str(x)[:28] for x in header[c0:c0 + ncols]]] + \
        [[str(x)[:28] for x in r[c0:c0 + ncols]] for r in rows[r0:r0 + nrows]]
    filled = sum(1 for r in cells[1:] for x in r if x.strip())
    if filled < 0.6 * ncols * (len(cells) - 1):
        return None, "mostly empty cells"
    mono = rng.random() < 0.3
    fpath = font_for("en", rng, mono)
    size = rng.choice([11, 12, 13, 14, 16, 18])
    font = ImageFont.truetype(fpath, size)
    pad = rng.choice([4, 6, 8, 10])
    style = rng.choice(["grid", "rules", "zebra", "header", "plain", "dark"])
    d0 = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    colw = [max(d0.textlength(r[j], font=font) for r in cells) + 2 * pad for j in range(ncols)]
    rowh = int(size * 1.35) + 2 * pad
    margin = rng.choice([8, 16, 30, 50])
    W = int(sum(colw)) + 2 * margin
    H = rowh * len(cells) + 2 * margin
    bg, fg, line = ("white", "black", "#888888")
    if style == "dark":
        bg, fg, line = ("#1e1e1e", "#e0e0e0", "#555555")
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    hdr_fill = rng.choice(["#dde4f0", "#3465a4", "#e8e8e8", "#4e9a06", "#f0e0c0"])
    y = margin
    for i, r in enumerate(cells):
        x = margin
        if i == 0 and style in ("header", "zebra", "grid"):
            d.rectangle([margin, y, W - margin, y + rowh], fill=hdr_fill)
        elif style == "zebra" and i % 2 == 0:
            d.rectangle([margin, y, W - margin, y + rowh], fill="#f2f2f2")
        for j, t in enumerate(r):
            col = fg
            if i == 0 and style in ("header", "grid", "zebra") and hdr_fill in ("#3465a4", "#4e9a06"):
                col = "white"
            num = re.match(r"^-?[\d.,]+$", t) is not None
            tx = x + colw[j] - pad - d.textlength(t, font=font) if num else x + pad
            d.text((tx, y + pad), t, fill=col, font=font)
            x += colw[j]
        y += rowh
        if style == "grid" or (style == "rules" and i in (0, len(cells) - 1)) or \
                (style == "header" and i == 0):
            d.line([margin, y, W - margin, y], fill=line, width=1)
    if style == "grid":
        x = margin
        for j in range(ncols + 1):
            d.line([x, margin, x, H - margin], fill=line)
            x += colw[j] if j < ncols else 0
        d.rectangle([margin, margin, W - margin, H - margin], outline=line)
    if style == "rules":
        d.line([margin, margin, W - margin, margin], fill=fg, width=2)
    how = "table of rows %d-%d, columns %d-%d drawn with PIL (%s style, %s %dpx)" % (
        r0 + 1, r0 + nrows, c0 + 1, c0 + ncols, style, os.path.basename(fpath), size)
    return save(im, base, rng, how)


ZH = {"value": "数值", "count": "数量", "share": "比例", "year": "年份", "index": "序号",
      "size": "大小", "total": "总计", "by": "按"}

_mpl = None


def mpl():
    global _mpl
    if _mpl is None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import font_manager
        for f in glob.glob("/usr/share/fonts/truetype/wqy/*.tt[fc]"):
            font_manager.fontManager.addfont(f)
        _mpl = plt
    return _mpl


def fig_image(plt, fig, base, **savefig):
    """A matplotlib figure as an RGB PIL image (through a temporary PNG
    beside base); the figure is closed."""
    from PIL import Image
    tmp = base + ".tmp.png"
    fig.savefig(tmp, **savefig)
    plt.close(fig)
    im = Image.open(tmp).convert("RGB")
    os.unlink(tmp)
    return im


# What the last r_chart drew, for tests/eval/chart_values.py: kind ("bar",
# "barh", "pie" or another), labels, values, whether pie shares were
# printed. Set without drawing on the random generator, so that images stay
# the same.
LAST_CHART = None


def r_chart(c, rng, base):
    global LAST_CHART
    LAST_CHART = None
    plt = mpl()
    header, rows = load_rows(c.src, c.args["kind"], rng)
    nums = numeric_cols(header, rows)
    kind = rng.choice(["line", "bar", "barh", "pie", "scatter", "area", "hist", "step"])
    zh = rng.random() < 0.25
    styles = [s for s in plt.style.available if not s.startswith("_")]
    style = rng.choice(styles + ["default"] * 4)
    with plt.style.context(style):
        if zh:
            plt.rcParams["font.sans-serif"] = ["WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                                               "DejaVu Sans"]
            plt.rcParams["font.family"] = "sans-serif"
            plt.rcParams["axes.unicode_minus"] = False
        w = rng.choice([4, 5, 6, 6.4, 8, 10])
        h = w * rng.choice([0.5, 0.6, 0.75, 1.0])
        dpi = rng.choice([60, 72, 80, 100, 120])
        fig, ax = plt.subplots(figsize=(w, h), dpi=dpi)
        ctype = kind
        # category counts from a text column, or numbers from numeric columns
        txtcols = [j for j in range(len(header)) if j not in nums]
        if kind in ("bar", "barh", "pie") or not nums:
            if not txtcols:
                j = nums[0]
                vals = [float(r[j]) for r in rows][:12]
                labels = [str(i + 1) for i in range(len(vals))]
            else:
                j = rng.choice(txtcols)
                cnt = {}
                for r in rows:
                    k = r[j][:16] or "-"
                    cnt[k] = cnt.get(k, 0) + 1
                items = sorted(cnt.items(), key=lambda kv: -kv[1])[:rng.choice([4, 5, 6, 8, 10])]
                labels = [k for k, _ in items]
                vals = [v for _, v in items]
            if kind not in ("bar", "barh", "pie"):
                kind = ctype = rng.choice(["bar", "barh", "pie"])
            if kind == "pie":
                vals, labels = vals[:7], labels[:7]
                pct = rng.random() < 0.6
                ax.pie(vals, labels=labels, autopct="%1.0f%%" if pct else None,
                       startangle=rng.choice([0, 90, 140]))
                LAST_CHART = {"kind": "pie", "labels": labels, "values": vals, "printed": pct}
                ax.axis("equal")
            elif kind == "bar":
                ax.bar(range(len(vals)), vals, color=None if rng.random() < 0.5 else "C%d" % rng.randint(0, 9))
                ax.set_xticks(range(len(vals)))
                rot = rng.choice([0, 30, 45, 90])
                ax.set_xticklabels(labels, rotation=rot, fontsize=8)
                LAST_CHART = {"kind": "bar", "labels": labels, "values": vals, "rotation": rot}
            else:
                ax.barh(range(len(vals)), vals)
                ax.set_yticks(range(len(vals)))
                ax.set_yticklabels(labels, fontsize=8)
                ctype = "bar"
                LAST_CHART = {"kind": "barh", "labels": labels, "values": vals}
            title = ("%s 数量" % header[j]) if zh else ("count by %s" % header[j])
        else:
            n = min(len(rows), rng.choice([20, 50, 100, 300, 1000]))
            r0 = rng.randint(0, len(rows) - n)
            sub = rows[r0:r0 + n]
            js = rng.sample(nums, min(len(nums), rng.choice([1, 2, 3])))
            xs = list(range(n))
            title = header[js[0]]
            if kind == "scatter" and len(nums) >= 2:
                a, b = rng.sample(nums, 2)
                ax.scatter([float(r[a]) for r in sub], [float(r[b]) for r in sub],
                           s=rng.choice([4, 10, 20, 40]), alpha=rng.choice([0.5, 0.8, 1.0]))
                ax.set_xlabel(header[a])
                ax.set_ylabel(header[b])
                title = "%s / %s" % (header[b], header[a])
            elif kind == "hist":
                ax.hist([float(r[js[0]]) for r in sub], bins=rng.choice([8, 12, 20, 30]))
                ctype = "bar"
            else:
                if kind == "scatter":
                    kind = ctype = "line"
                for j in js:
                    ys = [float(r[j]) for r in sub]
                    if kind == "area":
                        ax.fill_between(xs, ys, alpha=0.4)
                        ax.plot(xs, ys)
                    elif kind == "step":
                        ax.step(xs, ys, label=header[j])
                    else:
                        ax.plot(xs, ys, label=header[j], marker=rng.choice([None, None, "o", "."]))
                ctype = "line"
                if len(js) > 1 and rng.random() < 0.7:
                    ax.legend(fontsize=8)
                ax.set_xlabel("序号" if zh else "row")
        if rng.random() < 0.85:
            ax.set_title(title if not zh else title + " 图表")
        if rng.random() < 0.4 and kind != "pie":
            ax.grid(True)
        fig.tight_layout()
        im = fig_image(plt, fig, base)
    c.ctype = ctype
    c.lang = "zh" if zh else "en"
    return save(im, base, rng, "matplotlib %s chart, style %s, %gx%g in at %d dpi%s" %
                (ctype, style, w, h, dpi, ", Chinese labels" if zh else ""))


SCI_KINDS = ["surface", "wireframe", "contour3d", "scatter3d", "bar3d", "line3d", "contour",
             "heatmap", "box", "violin", "errorbar", "stem", "polar", "grid", "bare"]


def r_sciplot(c, rng, base):
    """The charts of scientific plotting beside r_chart's business ones: 3D
    surfaces, points, bars and curves, contour maps and heat maps with a
    colour bar, box and violin plots, error bars, stems, polar plots, a
    grid of small plots, and a bare line plot with few or no tick labels
    (as test baselines and papers draw them). Numbers come from the data
    file's numeric columns where the kind takes samples; surfaces, contours
    and curves are functions with seeded parameters (the file only names
    the package of the draw), as are samples where the file has no numeric
    column."""
    plt = mpl()
    import numpy as np
    header, rows = load_rows(c.src, c.args["kind"], rng)
    nums = numeric_cols(header, rows)
    cols = [np.array([float(r[j]) for r in rows]) for j in nums]
    kind = SCI_KINDS[c.args["v"] % len(SCI_KINDS)]
    zh = rng.random() < 0.2
    styles = [s for s in plt.style.available if not s.startswith("_")]
    style = rng.choice(styles + ["default"] * 6)
    ctype = {"scatter3d": "scatter", "bar3d": "bar", "line3d": "line", "errorbar": "line",
             "grid": "-", "bare": "line"}.get(kind, "-")
    a1, a2 = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5)
    cmap = rng.choice(["viridis", "coolwarm", "plasma", "jet", "terrain", "magma", "RdBu"])
    with plt.style.context(style):
        if zh:
            plt.rcParams["font.sans-serif"] = ["WenQuanYi Micro Hei", "DejaVu Sans"]
            plt.rcParams["axes.unicode_minus"] = False
        w = rng.choice([4, 5, 6, 6.4, 8])
        h = w * rng.choice([0.6, 0.75, 1.0])
        dpi = rng.choice([60, 72, 80, 100])
        fig = plt.figure(figsize=(w, h), dpi=dpi)
        x = np.linspace(-3, 3, rng.choice([30, 40, 60]))
        X, Y = np.meshgrid(x, x)
        Z = np.sin(a1 * X) * np.cos(a2 * Y) * np.exp(-(X ** 2 + Y ** 2) / rng.uniform(4, 12))

        def sample(k=0, n=200):
            if cols:
                v = cols[k % len(cols)]
                if len(v) > n:
                    i0 = rng.randint(0, len(v) - n)
                    v = v[i0:i0 + n]
                return v
            return np.array([rng.gauss(0, 1) for _ in range(n)])
        if kind in ("surface", "wireframe", "contour3d", "scatter3d", "bar3d", "line3d"):
            ax = fig.add_subplot(projection="3d")
            if kind == "surface":
                sf = ax.plot_surface(X, Y, Z, cmap=cmap, linewidth=0)
                if rng.random() < 0.5:
                    fig.colorbar(sf, shrink=0.6)
            elif kind == "wireframe":
                ax.plot_wireframe(X, Y, Z, rstride=2, cstride=2, linewidth=0.7)
            elif kind == "contour3d":
                ax.contour(X, Y, Z, rng.choice([8, 12, 20]), cmap=cmap)
            elif kind == "scatter3d":
                n = rng.choice([30, 100, 300])
                p = [sample(k, n) for k in range(3)]
                m = min(len(q) for q in p)
                ax.scatter(p[0][:m], p[1][:m], p[2][:m], c=p[2][:m] if rng.random() < 0.5 else None,
                           cmap=cmap, s=rng.choice([6, 15, 30]))
            elif kind == "bar3d":
                nx, ny = rng.choice([3, 4, 5]), rng.choice([3, 4, 6])
                v = np.abs(sample(0, nx * ny))
                v = np.resize(v, nx * ny)
                xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
                colors = [["C0", "C1", "C2", "C3", "C4", "C5"][j % 6] for j in yy.ravel()]
                ax.bar3d(xx.ravel(), yy.ravel(), 0, 0.6, 0.6, v, color=colors, shade=True)
            else:
                t = np.linspace(0, rng.choice([4, 6, 10]) * np.pi, 400)
                ax.plot(np.sin(t) * t, np.cos(t) * t, t * a1, lw=1.5)
            if rng.random() < 0.6:
                ax.set_xlabel("X")
                ax.set_ylabel("Y")
                ax.set_zlabel("Z")
        elif kind == "grid":
            axs = fig.subplots(2, 2)
            for k, a in enumerate(axs.ravel()):
                v = sample(k, rng.choice([20, 50, 100]))
                if k % 2:
                    a.scatter(range(len(v)), v, s=4)
                else:
                    a.plot(v, lw=1)
                a.tick_params(labelsize=6)
        elif kind == "polar":
            ax = fig.add_subplot(projection="polar")
            t = np.linspace(0, 2 * np.pi, 300)
            ax.plot(t, 1 + 0.5 * np.cos(rng.choice([2, 3, 5]) * t) * a1, lw=1.5)
        else:
            ax = fig.add_subplot()
            if kind in ("contour", "heatmap"):
                if kind == "contour":
                    cs = (ax.contourf if rng.random() < 0.6 else ax.contour)(X, Y, Z, rng.choice([8, 12, 20]),
                                                                             cmap=cmap)
                    if rng.random() < 0.3:
                        ax.clabel(cs, fontsize=7)
                else:
                    cs = ax.imshow(Z[::2, ::2], cmap=cmap, aspect="auto")
                if rng.random() < 0.8:
                    fig.colorbar(cs)
            elif kind in ("box", "violin"):
                k = rng.choice([2, 3, 4, 6])
                data = [sample(i, 80) for i in range(k)]
                (ax.boxplot if kind == "box" else ax.violinplot)(data)
                if header and nums:
                    ax.set_xticks(range(1, k + 1))
                    ax.set_xticklabels([header[nums[i % len(nums)]][:12] for i in range(k)],
                                       rotation=rng.choice([0, 0, 30, 90]), fontsize=8)
            elif kind == "errorbar":
                for k in range(rng.choice([1, 2, 3])):
                    v = sample(k, rng.choice([6, 10, 15]))
                    ax.errorbar(range(len(v)), v, yerr=np.abs(v) * rng.uniform(0.05, 0.3) + 0.1,
                                marker="o", capsize=3, label=header[nums[k % len(nums)]] if nums else None)
            elif kind == "stem":
                v = sample(0, rng.choice([10, 20, 30]))
                ax.stem(range(len(v)), v)
            else:  # bare: one or two curves, few or no tick labels
                t = np.linspace(0, 2 * np.pi * rng.choice([1, 2]), 200)
                ax.plot(t, np.sin(t * a1))
                if rng.random() < 0.5:
                    ax.plot(t, 0.5 * np.cos(t * a2))
                if rng.random() < 0.5:
                    ax.set_xticks([])
                    ax.set_yticks([])
                else:
                    ax.locator_params(nbins=3)
            if rng.random() < 0.4:
                ax.grid(True)
        title = (header[nums[0]] if nums else os.path.basename(c.src)) if rng.random() < 0.6 else None
        if title and rng.random() < 0.75:
            fig.suptitle(title + (" 图" if zh else ""), fontsize=rng.choice([9, 11, 13]))
        im = fig_image(plt, fig, base)
    c.ctype = ctype
    c.lang = "zh" if zh and title else "en"
    return save(im, base, rng, "matplotlib %s plot, style %s, %gx%g in at %d dpi%s" %
                (kind, style, w, h, dpi, ", Chinese title" if zh and title else ""))


def r_docshot(c, rng, base):
    from PIL import Image
    im = Image.open(c.src)
    if min(im.size) < 120 or im.size[0] * im.size[1] < 60000:
        return None, "too small (an icon or a button)"
    im = im.convert("RGB")
    how = "figure as shipped"
    if rng.random() < 0.3:
        s = rng.uniform(0.6, 1.5)
        im = im.resize((int(im.size[0] * s), int(im.size[1] * s)))
        how = "figure scaled %.2f" % s
    return save(im, base, rng, how)


def r_terminal(c, rng, base):
    from PIL import Image, ImageDraw, ImageFont
    listed = [l.rstrip("\n") for l in open(c.src, encoding="utf-8")]
    files = [f for f in listed if f.startswith("/usr/") and "." in os.path.basename(f) or
             f.startswith("/usr/bin/")][:200]
    progs = sorted(f for f in listed if re.match(r"/(usr/)?bin/[^/]+$", f) and os.path.isfile(f)
                   and os.access(f, os.X_OK))
    if len(files) < 5:
        return None, "few files"
    pkg = c.pkg
    style = rng.choice(["dark", "light", "green", "blue"])
    bg, fg = {"dark": ("#1d1f21", "#c5c8c6"), "light": ("#ffffff", "#202020"),
              "green": ("#000000", "#33dd33"), "blue": ("#002b36", "#93a1a1")}[style]
    fpath = font_for("en", rng, mono=True)
    size = rng.choice([12, 13, 14, 15])
    font = ImageFont.truetype(fpath, size)
    cols = rng.choice([80, 100, 120])
    rows = rng.choice([20, 24, 30, 40])
    cw = ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength("M", font=font)
    W, H = int(cols * cw) + 20, int(rows * size * 1.25) + 20
    title = rng.random() < 0.7
    th = 28 if title else 0
    im = Image.new("RGB", (W, H + th), bg)
    d = ImageDraw.Draw(im)
    if title:
        d.rectangle([0, 0, W, th], fill=rng.choice(["#3c3c3c", "#e0e0e0", "#2d2d2d"]))
        for k, col in enumerate(["#ff5f56", "#ffbd2e", "#27c93f"]):
            d.ellipse([10 + 20 * k, 8, 22 + 20 * k, 20], fill=col)
        d.text((W // 2 - 60, 6), "user@debian: ~", fill="#aaaaaa", font=font)
    lines = ["user@debian:~$ dpkg -L %s | head -%d" % (pkg, rows - 3)] + files[:rows - 3] + \
        ["user@debian:~$ "]
    # the window is drawn first at its full size, then the text of one of
    # five sessions: dpkg -L (v 0), ls -l (1), --help (2), --version (3),
    # the Debian changelog (4)
    prompt = rng.choice(["user@debian:~$ ", "$ ", "% ", "root@host:/# ", "~ > "])
    v = c.args["v"]
    if v == 1:
        lines = [prompt + "ls -l /usr/share/doc/%s" % pkg] + \
            ["-rw-r--r-- 1 root root %6d Jan %2d 2023 %s" % (rng.randint(100, 90000), rng.randint(1, 28),
                                                             os.path.basename(f)) for f in files[:rows - 2]] + [prompt]
    elif v in (2, 3) and progs:
        # a program's own --help (v 2), or a short session of --version
        # lines in a small window (v 3)
        out = []
        for prog in rng.sample(progs, min(len(progs), 1 if v == 2 else rng.choice([2, 3]))):
            # in an empty directory of its own, as HOME too: some scripts
            # take the option for a file name (gzexe left a temporary file
            # in the working directory)
            try:
                with tempfile.TemporaryDirectory() as box:
                    r = subprocess.run([prog, "--help" if v == 2 else "--version"],
                                       capture_output=True, text=True, timeout=5,
                                       stdin=subprocess.DEVNULL, cwd=box,
                                       env={"LANG": "C", "PATH": "/usr/bin:/bin", "HOME": box,
                                            "COLUMNS": str(cols)})
                got = (r.stdout or r.stderr).splitlines()
            except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
                got = []
            out += [prompt + os.path.basename(prog) + (" --help" if v == 2 else " --version")]
            out += [l.expandtabs() for l in got[:rows - 3 if v == 2 else 3]]
        if len(out) < 3:
            return None, "programs printed nothing"
        lines = out + [prompt]
        if v == 3:
            rows = len(lines) + 1
            H = int(rows * size * 1.25) + 20
            im = im.crop((0, 0, W, H + th))
            d = ImageDraw.Draw(im)
    elif v == 4:
        log = "/usr/share/doc/%s/changelog.Debian.gz" % pkg
        try:
            import gzip
            txt = gzip.open(log, "rt", encoding="utf-8", errors="replace").read().splitlines()
        except OSError:
            return None, "no changelog"
        lines = [prompt + "zcat %s | head -%d" % (log, rows - 2)] + txt[:rows - 2] + [prompt]
    y = th + 8
    for l in lines:
        d.text((10, y), l[:cols], fill=fg, font=font)
        y += int(size * 1.25)
    return save(im, base, rng, "terminal window drawn with PIL (%s, %s %dpx, %d cols)" %
                (style, os.path.basename(fpath), size, cols), prefer="png")


def r_sign(c, rng, base):
    from PIL import Image
    im = Image.open(c.src).convert("RGBA")
    bgc = rng.choice(["white", "#e8eef4", "#87ceeb", "#d8d8d8"])
    pad = rng.randint(8, 80)
    bg = Image.new("RGB", (im.size[0] + 2 * pad, im.size[1] + 2 * pad), bgc)
    bg.paste(im, (pad, pad), im)
    return save(resize_long(bg, rng.choice([240, 360, 480])), base, rng,
                "road sign stamp on %s, margin %d" % (bgc, pad))


def r_svg(c, rng, base):
    from PIL import Image
    side = rng.choice([128, 256, 400, 512, 800])
    with tempfile.TemporaryDirectory() as t:
        out = os.path.join(t, "a.png")
        r = run(["rsvg-convert", "-w", str(side), "-h", str(side), "--keep-aspect-ratio",
                 "-o", out, c.src])
        if r.returncode != 0 or not os.path.isfile(out):
            return None, "rsvg-convert failed"
        im = Image.open(out).convert("RGBA")
    bgc = rng.choice(["white", "white", "#f0f0f0", "#202020", "#1b4f9c", "#f7e8c8"])
    pad = rng.choice([0, 10, 40, 80])
    canvas = Image.new("RGB", (im.size[0] + 2 * pad, im.size[1] + 2 * pad), bgc)
    canvas.paste(im, (pad, pad), im)
    return save(canvas, base, rng, "rsvg-convert %dpx on %s, margin %d" % (side, bgc, pad))


WORDS_EN = ["OPEN SOURCE", "Welcome", "Free Software", "DEBIAN", "Summer Festival",
            "Book Fair 2023", "Linux Conference", "GRAND OPENING", "Sale", "Hello World",
            "Community Day", "Music Night", "Science Week", "Stop", "Exit", "Caution",
            "The quick brown fox", "Typography", "ABCDEFG abcdefg 0123", "Coffee & Code"]
WORDS_ZH = ["开源软件", "欢迎光临", "自由软件", "书展", "音乐节", "科学周", "社区日",
            "春节快乐", "文化节", "出口", "注意安全", "中文字体 样张", "永和九年", "停车场"]


def r_specimen(c, rng, base):
    from PIL import Image, ImageDraw, ImageFont
    zh = c.lang == "zh"
    W = rng.choice([400, 600, 800, 1000, 1200])
    H = int(W * rng.choice([0.5, 0.75, 1.0, 1.33, 1.5]))
    mode = rng.choice(["solid", "gradient", "frame", "white"])
    c1 = tuple(rng.randint(0, 255) for _ in range(3))
    c2 = tuple(rng.randint(0, 255) for _ in range(3))
    im = Image.new("RGB", (W, H), c1 if mode != "white" else (255, 255, 255))
    d = ImageDraw.Draw(im)
    if mode == "gradient":
        for y in range(H):
            t = y / H
            d.line([0, y, W, y], fill=tuple(int(c1[k] * (1 - t) + c2[k] * t) for k in range(3)))
    if mode == "frame":
        d.rectangle([W // 20, H // 20, W - W // 20, H - H // 20], outline=c2, width=max(3, W // 80))
    lum = sum(im.getpixel((W // 2, H // 2))) / 3
    fg = (20, 20, 20) if lum > 128 else (250, 250, 250)
    words = WORDS_ZH if zh else WORDS_EN
    n = rng.choice([1, 1, 2, 3])
    y = H // 6
    lines = []
    for i in range(n):
        text = rng.choice(words)
        size = int(H * rng.uniform(0.08, 0.22)) if i == 0 else int(H * rng.uniform(0.05, 0.1))
        try:
            font = ImageFont.truetype(c.src, size)
        except OSError:
            return None, "font not loadable"
        tw = d.textlength(text, font=font)
        if tw > W * 0.95:
            size = int(size * W * 0.9 / tw)
            font = ImageFont.truetype(c.src, max(8, size))
            tw = d.textlength(text, font=font)
        d.text(((W - tw) / 2, y), text, fill=fg, font=font)
        y += int(size * 1.5)
        lines.append(text)
    c.lang = "zh" if zh else "en"
    return save(im, base, rng, "%s lettering in %s on %s background, %dx%d: %s" % (
        "Chinese" if zh else "Latin", os.path.basename(c.src), mode, W, H, " / ".join(lines)))


_status = None


def deps_of(pkg):
    global _status
    if _status is None:
        _status = {}
        txt = open("/var/lib/dpkg/status", encoding="utf-8", errors="replace").read()
        for block in txt.split("\n\n"):
            m = re.search(r"^Package: (\S+)", block, re.M)
            dd = re.search(r"^Depends: (.+)", block, re.M)
            if m:
                _status[m.group(1)] = [re.split(r"[ (|:]", x.strip())[0]
                                       for x in dd.group(1).split(",")] if dd else []
    return _status.get(pkg, [])


def r_graphviz(c, rng, base):
    from PIL import Image
    pkg = c.pkg
    edges, seen, frontier = [], {pkg}, [pkg]
    depth = rng.choice([1, 2, 2, 3])
    for _ in range(depth):
        nxt = []
        for p in frontier:
            for q in deps_of(p)[:rng.choice([3, 4, 6])]:
                edges.append((p, q))
                if q not in seen and len(seen) < 22:
                    seen.add(q)
                    nxt.append(q)
        frontier = nxt
    if len(edges) < 3:
        return None, "few dependencies"
    prog = rng.choice(["dot", "dot", "neato", "fdp", "circo", "twopi"])
    shape = rng.choice(["box", "ellipse", "box", "record", "circle", "note", "component"])
    rankdir = rng.choice(["TB", "LR"])
    fill = rng.choice(["", "lightblue", "lightyellow", "#e0f0e0", "white"])
    font = rng.choice(["DejaVu Sans", "Liberation Serif", "FreeSans", "WenQuanYi Micro Hei"])
    dot = ['digraph g { rankdir=%s; bgcolor="%s"; node [shape=%s, fontname="%s"%s]; edge [color="%s"];' % (
        rankdir, rng.choice(["white", "white", "#f8f8f8"]), shape, font,
        ', style=filled, fillcolor="%s"' % fill if fill else "", rng.choice(["black", "#444444", "#3465a4"]))]
    for a, b in edges:
        lab = ' [label="依赖"]' if font.startswith("WenQuanYi") and rng.random() < 0.3 else ""
        dot.append('"%s" -> "%s"%s;' % (a, b, lab))
    dot.append("}")
    dpi = rng.choice([60, 72, 96, 120])
    with tempfile.TemporaryDirectory() as t:
        out = os.path.join(t, "g.png")
        r = run([prog, "-Tpng", "-Gdpi=%d" % dpi, "-o", out], input="\n".join(dot).encode())
        if r.returncode != 0 or not os.path.isfile(out):
            return None, "graphviz failed"
        im = Image.open(out).convert("RGB")
    if max(im.size) > 2400:
        im = resize_long(im, 2400)
    return save(im, base, rng, "graphviz %s of its Depends (depth %d, %d edges, %s nodes, %d dpi)" % (
        prog, depth, len(edges), shape, dpi))


def dep_graph(pkg, rng, limit):
    """Nodes and edges of a package's Depends, breadth first, up to limit nodes."""
    nodes, edges, frontier = [pkg], [], [pkg]
    while frontier and len(nodes) < limit:
        nxt = []
        for p in frontier:
            for q in deps_of(p)[:rng.choice([2, 3, 4])]:
                if q not in nodes and len(nodes) < limit:
                    nodes.append(q)
                    nxt.append(q)
                if q in nodes and (p, q) not in edges:
                    edges.append((p, q))
        frontier = nxt
    return nodes, edges


def r_netgraph(c, rng, base):
    """A package's dependency graph as a node-link drawing (matplotlib):
    filled circles placed by a small spring layout, labelled with the
    packages' names, letters or numbers, edges straight or curved, some
    with weights, one path picked out in another colour."""
    plt = mpl()
    import math
    nodes, edges = dep_graph(c.pkg, rng, rng.choice([5, 8, 12, 16]))
    if len(edges) < 3:
        return None, "few dependencies"
    n = len(nodes)
    pos = [[math.cos(2 * math.pi * i / n) + rng.uniform(-0.1, 0.1),
            math.sin(2 * math.pi * i / n) + rng.uniform(-0.1, 0.1)] for i in range(n)]
    idx = {v: i for i, v in enumerate(nodes)}
    if rng.random() < 0.7:  # spring layout: edges pull, every pair pushes
        for _ in range(120):
            f = [[0.0, 0.0] for _ in range(n)]
            for i in range(n):
                for j in range(n):
                    if i != j:
                        dx, dy = pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]
                        d2 = dx * dx + dy * dy + 1e-3
                        f[i][0] += 0.02 * dx / d2
                        f[i][1] += 0.02 * dy / d2
            for a, b in edges:
                i, j = idx[a], idx[b]
                dx, dy = pos[j][0] - pos[i][0], pos[j][1] - pos[i][1]
                for k, sg in ((i, 1), (j, -1)):
                    f[k][0] += sg * 0.05 * dx
                    f[k][1] += sg * 0.05 * dy
            for i in range(n):
                pos[i][0] += max(-0.05, min(0.05, f[i][0]))
                pos[i][1] += max(-0.05, min(0.05, f[i][1]))
    lab = rng.choice(["name", "name", "letter", "number", "none"])
    greek = "αβγδεζηθλμπστφω"
    names = {v: (v[:14] if lab == "name" else
                 (rng.choice([chr(65 + i % 26), greek[i % len(greek)]]) if lab == "letter" else
                  str(i + 1) if lab == "number" else "")) for i, v in enumerate(nodes)}
    w = rng.choice([4, 5, 6, 8])
    fig, ax = plt.subplots(figsize=(w, w * rng.choice([0.75, 1.0])), dpi=rng.choice([60, 72, 90, 110]))
    ax.axis("off")
    ncol = rng.choice(["#1f78b4", "#ff7f0e", "#66c2a5", "#d62728", "lightblue", "#bbbbbb"])
    ecol = rng.choice(["black", "grey", "#555555", "#1f78b4"])
    curved = rng.random() < 0.3
    weights = rng.random() < 0.4
    path = set(edges[:rng.choice([0, 2, 3])])
    for a, b in edges:
        (x1, y1), (x2, y2) = pos[idx[a]], pos[idx[b]]
        col = "red" if (a, b) in path else ecol
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1), arrowprops=dict(
            arrowstyle="-|>" if rng.random() < 0.5 else "-", color=col, lw=1.2,
            shrinkA=8, shrinkB=8, connectionstyle="arc3,rad=0.25" if curved else "arc3"))
        if weights:
            ax.text((x1 + x2) / 2, (y1 + y2) / 2, "%g" % round(rng.uniform(0.5, 9.9), 1),
                    fontsize=7, ha="center", va="center",
                    bbox=dict(fc="white", ec="none", pad=0.5))
    size = 300 if lab == "name" else rng.choice([150, 300, 500])
    ax.scatter([p[0] for p in pos], [p[1] for p in pos], s=size, c=ncol, zorder=3,
               edgecolors=rng.choice(["none", "black"]))
    for v in nodes:
        x, y = pos[idx[v]]
        if names[v]:
            ax.text(x, y + (0.12 if lab == "name" else 0), names[v], ha="center", va="center",
                    fontsize=8 if lab == "name" else 10, zorder=4)
    ax.margins(0.15)
    im = fig_image(plt, fig, base, bbox_inches="tight")
    return save(im, base, rng, "node-link drawing of %d Depends (matplotlib, %s labels%s%s)" % (
        len(edges), lab, ", curved" if curved else "", ", weighted" if weights else ""))


def r_blocks(c, rng, base):
    """Box-and-arrow figures of the kind manuals draw, from a package's
    Depends and its status fields (PIL): layers of labelled boxes joined by
    arrows (a stack of crates, an architecture), class boxes with a header
    and field lines joined by lines (UML-like), or stacked memory-map
    columns with addresses beside the boxes."""
    from PIL import Image, ImageDraw, ImageFont
    import math
    nodes, edges = dep_graph(c.pkg, rng, rng.choice([4, 6, 9]))
    if len(nodes) < 3:
        return None, "few dependencies"
    style = c.args["v"] % 3
    W, H = rng.choice([(640, 480), (800, 600), (900, 500), (560, 700)])
    bg = rng.choice(["white", "white", "#fafafa", "#fffff0"])
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    fs = rng.choice([11, 13, 15])
    faces = [f for f in ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                         "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                         "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
                         "/usr/share/fonts/truetype/freefont/FreeSans.ttf"] if os.path.isfile(f)]
    face = rng.choice(faces) if faces else font_for("en", rng)
    font = ImageFont.truetype(face, fs)
    fill = rng.choice(["#fff2a8", "#cfe2f3", "#d9ead3", "white", "#f4cccc"])
    line = rng.choice(["black", "#333333", "#3465a4"])
    fields = {}
    for block in open("/var/lib/dpkg/status", encoding="utf-8", errors="replace").read().split("\n\n"):
        m = re.search(r"^Package: (\S+)", block, re.M)
        if m and m.group(1) in nodes:
            fields[m.group(1)] = [l.split(":", 1) for l in block.splitlines()
                                  if re.match(r"(Version|Section|Priority|Architecture|Installed-Size): ", l)]
    boxes = {}
    if style == 0:  # layers of boxes, arrows from each to its dependencies
        layers = [nodes[:1], nodes[1:1 + (len(nodes) - 1) // 2], nodes[1 + (len(nodes) - 1) // 2:]]
        layers = [l for l in layers if l]
        lh = H // (len(layers) + 1)
        for li, layer in enumerate(layers):
            bw = min(180, (W - 40) // len(layer) - 20)
            for k, v in enumerate(layer):
                x = 20 + k * (W - 40) // len(layer) + ((W - 40) // len(layer) - bw) // 2
                y = lh // 2 + li * lh
                boxes[v] = (x, y, x + bw, y + lh // 2)
                d.rectangle(boxes[v], fill=fill, outline=line, width=2)
                d.text(((boxes[v][0] + boxes[v][2]) // 2, (boxes[v][1] + boxes[v][3]) // 2), v[:bw // (fs // 2 + 1)],
                       fill="black", font=font, anchor="mm")
        for a, b in edges:
            if a in boxes and b in boxes:
                p = ((boxes[a][0] + boxes[a][2]) // 2, boxes[a][3])
                q = ((boxes[b][0] + boxes[b][2]) // 2, boxes[b][1])
                if q[1] > p[1]:
                    d.line([p, q], fill=line, width=2)
                    d.polygon([q, (q[0] - 5, q[1] - 10), (q[0] + 5, q[1] - 10)], fill=line)
        how = "layers of %d boxes" % len(boxes)
    elif style == 1:  # class boxes: header, a rule, field lines
        cols = rng.choice([2, 3])
        bw = (W - 40) // cols - 30
        for k, v in enumerate(nodes[:cols * 2]):
            lines = ["%s: %s" % (a, b.strip()[:14]) for a, b in fields.get(v, [])][:rng.choice([2, 3, 5])]
            x = 20 + (k % cols) * (bw + 30)
            y = 20 + (k // cols) * (H // 2)
            bh = (len(lines) + 1) * (fs + 6) + 10
            boxes[v] = (x, y, x + bw, y + bh)
            d.rectangle(boxes[v], fill=fill, outline=line, width=1)
            d.text((x + bw // 2, y + 4), v[:22], fill="black", font=font, anchor="ma")
            d.line([(x, y + fs + 8), (x + bw, y + fs + 8)], fill=line)
            for i, t in enumerate(lines):
                d.text((x + 6, y + fs + 12 + i * (fs + 6)), t, fill="black", font=font)
        for a, b in edges:
            if a in boxes and b in boxes:
                d.line([((boxes[a][0] + boxes[a][2]) // 2, boxes[a][3]),
                        ((boxes[b][0] + boxes[b][2]) // 2, boxes[b][1])], fill=line, width=1)
        how = "%d class boxes with status fields" % len(boxes)
    else:  # memory-map columns: stacked boxes, addresses at their edges
        ncol = rng.choice([1, 2])
        cw = rng.choice([160, 200])
        addr = rng.choice([0, 0x20000000, 0x8000])
        xs = [120, W - 40 - cw]
        for k in range(ncol):
            x = xs[k]
            y = 40
            part = nodes[k::ncol]
            sizes = [int(dict(fields.get(v, [])).get("Installed-Size", " 100").strip() or 100) for v in part]
            tot = sum(math.sqrt(z) for z in sizes) or 1
            for v, sz in zip(part, sizes):
                h = max(fs + 10, int((H - 80) * math.sqrt(sz) / tot))
                boxes[v] = (x, y, x + cw, y + h)
                d.rectangle(boxes[v], fill=rng.choice([fill, "white", "#e6e6e6"]), outline=line, width=2)
                d.text((x + cw // 2, y + h // 2), v[:18], fill="black", font=font, anchor="mm")
                d.text((x - 8, y), "0x%08X" % addr, fill="black", font=font, anchor="ra")
                addr += sz * 1024
                y += h
            d.text((x - 8, y), "0x%08X" % addr, fill="black", font=font, anchor="rd")
        if ncol == 2:
            d.line([(120 + cw, 40), (xs[1], 40)], fill=line)
        how = "memory map of %d boxes in %d columns" % (len(boxes), ncol)
    if rng.random() < 0.6:
        d.text((W // 2, 4), c.pkg, fill="black", font=ImageFont.truetype(face, fs + 4),
               anchor="ma")
    return save(im, base, rng, "box diagram (PIL): %s from the package's Depends" % how,
                prefer="png" if rng.random() < 0.7 else None)


def r_geometry(c, rng, base):
    plt = mpl()
    import math
    fig, ax = plt.subplots(figsize=(rng.choice([4, 5, 6]),) * 2, dpi=rng.choice([72, 90, 110]))
    ax.set_aspect("equal")
    ax.axis("off")
    pts = [(rng.uniform(0, 10), rng.uniform(0, 10)) for _ in range(rng.choice([3, 4, 5]))]
    names = "ABCDEFGH"
    col = rng.choice(["black", "#204a87", "#a40000"])
    kind = c.args["v"]
    if kind == 0:
        ax.add_patch(plt.Polygon(pts[:3], fill=False, color=col, lw=1.5))
    elif kind == 1:
        r = rng.uniform(2, 4)
        ax.add_patch(plt.Circle((5, 5), r, fill=False, color=col, lw=1.5))
        pts = [(5 + r * math.cos(a), 5 + r * math.sin(a)) for a in
               [rng.uniform(0, 6.28) for _ in range(3)]] + [(5, 5)]
        ax.plot(*zip(*pts[:3], pts[0]), color=col)
    elif kind == 2:
        for i in range(len(pts) - 1):
            ax.annotate("", xy=pts[i + 1], xytext=pts[i], arrowprops=dict(arrowstyle="->", color=col))
    else:
        ax.add_patch(plt.Rectangle((1, 1), rng.uniform(4, 8), rng.uniform(3, 7), fill=False, color=col))
        ax.plot([1, 9], [1, 8], color=col, ls="--")
    for i, p in enumerate(pts):
        ax.plot(*p, "o", color=col, ms=3)
        ax.text(p[0] + 0.2, p[1] + 0.2, names[i], fontsize=rng.choice([10, 12, 14]))
    ax.set_xlim(-1, 11)
    ax.set_ylim(-1, 11)
    im = fig_image(plt, fig, base, bbox_inches="tight")
    return save(im, base, rng, "geometry figure %d with matplotlib (points from the seed; the data file "
                "only names the package of this draw)" % kind)


# ------------------------------------------------- HTML via Chromium ----

_shots = {}  # id(candidate) -> PNG of its slot in a batch screenshot


def html_item(c):
    """The page one HTML candidate renders (a run of paragraphs, or one data
    table, under the source page's own style sheets) and its width."""
    lrng = random.Random(hashlib.sha256(("layout" + c.key() + repr(sorted(c.args.items())))
                                        .encode()).hexdigest())
    txt = html_read(c.src)
    styles = "".join(re.findall(r"<link\b[^>]*stylesheet[^>]*>|<style\b.*?</style\s*>", txt,
                                re.S | re.I))
    if c.how == "htmldoc":
        blocks = html_paragraphs(txt)
        body = [i for i, b in enumerate(blocks) if not b[2]]
        if len(body) < 3:
            return None
        half = len(body) // 2
        start = body[lrng.randrange(0, max(1, half))] if c.args["part"] == 0 else \
            body[half + lrng.randrange(0, max(1, len(body) - half - 2))]
        if start > 0 and blocks[start - 1][2]:
            start -= 1
        target = lrng.choice([900, 1300, 1800, 2600]) // (3 if c.lang == "zh" else 1)
        parts, n = [], 0
        for b in blocks[start:]:
            parts.append(b[0])
            n += len(b[1])
            if n >= target:
                break
        if n < target * 0.6:
            return None
        content = "".join(parts)
    else:
        tabs = [(a, b) for a, b in html_tables(txt) if data_table(txt[a:b])]
        if c.args["t"] >= len(tabs):
            return None
        a, b = tabs[c.args["t"]]
        content = txt[a:b]
    width = lrng.choice([640, 800, 960, 1100, 1280])
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><base href='file://%s/'>%s</head>"
            "<body>%s</body></html>" % (os.path.dirname(c.src), styles, content))
    return page, width


SLOT = 1400  # height of one item in a batch screenshot


def prerender_html(cands, work):
    """Renders the HTML candidates with headless Chromium, ten to a
    screenshot (each page in an iframe of its own width and SLOT height):
    one browser start per ten images. Fills _shots."""
    os.makedirs(work, exist_ok=True)
    todo = []
    for c in cands:
        try:
            it = html_item(c)
        except (OSError, ValueError):
            it = None
        if it:
            todo.append((c, it))
    for g in range(0, len(todo), 10):
        grp = todo[g:g + 10]
        frames = []
        for i, (c, (page, width)) in enumerate(grp):
            f = os.path.join(work, "item%d.html" % i)
            with open(f, "w", encoding="utf-8") as fh:
                fh.write(page)
            frames.append("<iframe src='file://%s' scrolling='no' style='position:absolute;"
                          "top:%dpx;left:0;width:%dpx;height:%dpx;border:0'></iframe>" %
                          (f, i * SLOT, width, SLOT - 40))
        top = os.path.join(work, "batch.html")
        with open(top, "w", encoding="utf-8") as fh:
            fh.write("<html><body style='margin:0;background:#fff'>%s</body></html>" % "".join(frames))
        shot = os.path.join(work, "batch.png")
        if os.path.exists(shot):
            os.unlink(shot)
        r = run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--user-data-dir=" + os.path.join(work, "profile"), "--allow-file-access-from-files",
                 "--force-device-scale-factor=1", "--window-size=1300,%d" % (SLOT * len(grp)),
                 "--screenshot=" + shot, "file://" + top], timeout=180)
        if r.returncode != 0 or not os.path.isfile(shot):
            sys.stderr.write("corpus: chromium failed on a batch of %d pages\n" % len(grp))
            continue
        from PIL import Image
        im = Image.open(shot).convert("RGB")
        for i, (c, (page, width)) in enumerate(grp):
            out = os.path.join(work, "shot-%d-%d.png" % (g, i))
            im.crop((0, i * SLOT, width, i * SLOT + SLOT - 40)).save(out)
            _shots[id(c)] = out


def trim(im, rng, pad_lo=6, pad_hi=40):
    """Crops to the content (what differs from the corner colour) with a margin."""
    from PIL import Image, ImageChops
    bg = im.getpixel((1, 1))
    diff = ImageChops.difference(im, Image.new("RGB", im.size, bg)).convert("L").point(
        lambda v: 255 if v > 16 else 0)
    box = diff.getbbox()
    if not box:
        return None
    pad = rng.randint(pad_lo, pad_hi)
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(im.size[0], box[2] + pad), min(im.size[1], box[3] + pad)
    return im.crop((x0, y0, x1, y1))


def r_html(c, rng, base):
    from PIL import Image
    f = _shots.get(id(c))
    if not f:
        return None, "not rendered"
    im = trim(Image.open(f).convert("RGB"), rng)
    if im is None or im.size[0] < 160 or im.size[1] < (200 if c.how == "htmldoc" else 60):
        return None, "blank or small"
    how = "headless Chromium, %s, %dpx wide" % (
        "a run of the page's paragraphs" if c.how == "htmldoc" else "data table %d of the page" %
        (c.args["t"] + 1), im.size[0])
    if rng.random() < 0.3:
        s = rng.uniform(0.6, 1.4)
        im = im.resize((max(1, int(im.size[0] * s)), max(1, int(im.size[1] * s))), Image.LANCZOS)
        how += ", scaled %.2f" % s
    return save(im, base, rng, how)


SAMPLE_EN = "The quick brown fox jumps over the lazy dog. 0123456789"
SAMPLE_ZH = "我能吞下玻璃而不伤身体。永和九年，岁在癸丑。"


def r_fontsheet(c, rng, base):
    """A font sample sheet: the face's name, its alphabet, and a line of
    sample text at a waterfall of sizes (v 0), or a specimen poster with a
    huge "Aa" (v 1)."""
    from PIL import Image, ImageDraw, ImageFont
    zh = c.lang == "zh"
    try:
        fam, sty = ImageFont.truetype(c.src, 40).getname()
    except OSError:
        return None, "font not loadable"
    label = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 12)
    W = rng.choice([700, 900, 1100, 1300])
    bg = rng.choice([(255, 255, 255), (255, 255, 255), (246, 244, 238), (236, 240, 245)])
    fg = (20, 20, 20)
    sample = SAMPLE_ZH if zh else SAMPLE_EN
    items = []  # (text, size, with size label)
    if c.args["v"] == 0:
        items.append(("%s %s" % (fam, sty), rng.choice([36, 44, 52]), False))
        items.append(("abcdefghijklmnopqrstuvwxyz", 28, False))
        items.append(("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 28, False))
        items.append(("0123456789.:,;(*!?')" if not zh else "一二三四五六七八九十", 28, False))
        for z in rng.choice([[12, 18, 24, 36, 48, 60, 72], [10, 14, 20, 28, 40, 56],
                             [16, 24, 32, 48, 64, 96]]):
            items.append((sample, z, True))
    else:
        items.append(("Aa" if not zh else "字体", rng.choice([200, 260, 320]), False))
        items.append(("%s %s" % (fam, sty), rng.choice([40, 56, 64]), False))
        items.append(("abcdefghijklm nopqrstuvwxyz" if not zh else sample, 30, False))
        items.append(("ABCDEFGHIJKLM NOPQRSTUVWXYZ 0123456789", 30, False))
    H = 60 + sum(int(z * 1.45) for _, z, _ in items)
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    y = 30
    centre = c.args["v"] == 1
    for text, z, lab in items:
        font = ImageFont.truetype(c.src, z)
        x = 30
        if lab:
            d.text((x, y + z // 3), "%d" % z, fill=(120, 120, 120), font=label)
            x = 70
        tw = d.textlength(text, font=font)
        if centre:
            x = max(10, (W - tw) / 2)
        d.text((x, y), text, fill=fg, font=font)
        y += int(z * 1.45)
    c.lang = "zh" if zh else "en"
    return save(im, base, rng, "font sample sheet (%s) of %s %s, %dx%d" % (
        "waterfall" if c.args["v"] == 0 else "specimen poster", fam, sty, W, H), prefer="png")


def r_theme(c, rng, base):
    from PIL import Image
    side = rng.choice([640, 960, 1280, 1600])
    with tempfile.TemporaryDirectory() as t:
        out = os.path.join(t, "a.png")
        r = run(["rsvg-convert", "-w", str(side), "--keep-aspect-ratio", "-o", out, c.src])
        if r.returncode != 0 or not os.path.isfile(out):
            return None, "rsvg-convert failed"
        im = Image.open(out).convert("RGBA")
    canvas = Image.new("RGB", im.size, (0, 0, 0))
    canvas.paste(im, (0, 0), im)
    return save(canvas, base, rng, "rsvg-convert %dpx wide" % side)


def r_figsheet(c, rng, base):
    """A diagram made of 3-8 symbols of one xfig library (rendered by
    fig2dev) in a chain or grid, joined by connectors, optionally labelled."""
    from PIL import Image, ImageDraw, ImageFont
    files = sorted(glob.glob(os.path.join(c.src, "**", "*.fig"), recursive=True))
    if len(files) < 3:
        return None, "few symbols"
    n = rng.choice([3, 4, 5, 6, 8])
    pick = rng.sample(files, min(n, len(files)))
    cell = rng.choice([110, 140, 180, 220])
    syms = []
    with tempfile.TemporaryDirectory() as t:
        for i, f in enumerate(pick):
            out = os.path.join(t, "s%d.png" % i)
            r = run(["fig2dev", "-L", "png", "-m", str(rng.choice([1.5, 2, 3])), "-b", "2", f, out],
                    timeout=60)
            if r.returncode != 0 or not os.path.isfile(out):
                continue
            im = Image.open(out).convert("RGB")
            if min(im.size) < 8:
                continue
            s = min(cell * 0.8 / im.size[0], cell * 0.8 / im.size[1])
            im = im.resize((max(1, int(im.size[0] * s)), max(1, int(im.size[1] * s))), Image.LANCZOS)
            syms.append((os.path.splitext(os.path.basename(f))[0], im))
    if len(syms) < 3:
        return None, "symbols did not render"
    grid = rng.random() < 0.5 and len(syms) >= 4
    cols = (2 if len(syms) <= 4 else 3) if grid else len(syms)
    if not grid and rng.random() < 0.3:
        cols = 1
    rows = (len(syms) + cols - 1) // cols
    gap = rng.choice([50, 70, 100])
    lab_h = 24 if rng.random() < 0.6 else 0
    title_h = 40 if rng.random() < 0.3 else 0
    W = cols * cell + (cols + 1) * gap
    H = title_h + rows * (cell + lab_h) + (rows + 1) * gap
    im = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype(font_for("en", rng), rng.choice([11, 12, 14]))
    col = rng.choice(["black", "#333333", "#204a87"])
    centres = []
    for i, (name, s) in enumerate(syms):
        r_, c_ = divmod(i, cols)
        x0 = gap + c_ * (cell + gap)
        y0 = title_h + gap + r_ * (cell + lab_h + gap)
        im.paste(s, (x0 + (cell - s.size[0]) // 2, y0 + (cell - s.size[1]) // 2))
        if lab_h:
            t = name.replace("_", " ").replace("-", " ")[:22]
            d.text((x0 + (cell - d.textlength(t, font=font)) / 2, y0 + cell + 4), t, fill="black",
                   font=font)
        centres.append((x0, y0, x0 + cell, y0 + cell))
    arrows = rng.random() < 0.7
    for i in range(len(centres) - 1):
        a, b = centres[i], centres[i + 1]
        if a[1] == b[1]:   # same row: right side to left side
            p, q = (a[2], (a[1] + a[3]) // 2), (b[0], (b[1] + b[3]) // 2)
            pts = [p, q]
        else:              # next row: down, across, down
            p, q = ((a[0] + a[2]) // 2, a[3] + lab_h), ((b[0] + b[2]) // 2, b[1])
            ym = (p[1] + q[1]) // 2
            pts = [p, (p[0], ym), (q[0], ym), q]
        d.line(pts, fill=col, width=rng.choice([1, 2]))
        if arrows:
            (x1, y1), (x2, y2) = pts[-2], pts[-1]
            if x1 == x2:
                tri = [(x2, y2), (x2 - 5, y2 - 10), (x2 + 5, y2 - 10)]
            else:
                tri = [(x2, y2), (x2 - 10, y2 - 5), (x2 - 10, y2 + 5)]
            d.polygon(tri, fill=col)
    if title_h:
        t = "%s diagram" % os.path.basename(c.src).replace("_", " ")
        d.text((gap, 10), t, fill="black", font=ImageFont.truetype(font_for("en", rng), 18))
    return save(im, base, rng, "%d xfig %s symbols (fig2dev) in a %s, %s connectors%s" % (
        len(syms), os.path.basename(c.src), "grid" if grid else "chain", "arrow" if arrows else "line",
        ", labelled" if lab_h else ""), prefer="png" if rng.random() < 0.7 else "jpg")


RENDER = {"photo": r_photo, "pdfpage": r_pdfpage, "textpage": r_textpage, "table": r_table,
          "chart": r_chart, "sciplot": r_sciplot, "docshot": r_docshot, "terminal": r_terminal, "svg": r_svg,
          "specimen": r_specimen, "sign": r_sign, "graphviz": r_graphviz, "netgraph": r_netgraph,
          "blocks": r_blocks, "geometry": r_geometry,
          "htmldoc": r_html, "htmltable": r_html, "fontsheet": r_fontsheet, "theme": r_theme,
          "figsheet": r_figsheet}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/corpus")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--per-domain", type=int, default=400)
    ap.add_argument("--manifest-copy")
    ap.add_argument("--resplit", metavar="MANIFEST", help="recompute the split column only")
    a = ap.parse_args()
    if a.resplit:
        resplit(a.resplit, a.seed)
        return 0
    holdout = os.environ.get("ODX_HOLDOUT") or os.path.join(shared_eval_dir(), "holdout-sources.tsv")
    if not os.path.isfile(holdout):
        sys.stderr.write("corpus: holdout list %s not found: cannot check sources\n" % holdout)
        return 1
    ex = Excluded(holdout)
    if not os.environ.get("ODX_HOLDOUT") or os.environ.get("ODX_CORPUS_CHECKS", "1") == "1":
        ex.add_dev(os.path.join(shared_eval_dir(), "dev", "manifest.tsv"))
        ex.add_field()
    rng = random.Random(a.seed)
    cands = []
    n_refused = 0
    for c in enumerate_candidates(rng):
        why = ex.why(c.src, c.page)
        if why:
            sys.stderr.write("corpus: refused: %s (%s source)\n" % (c.key().rstrip(), why))
            n_refused += 1
            continue
        cands.append(c)
    if a.list:
        seen = set()
        for c in cands:
            k = c.key()
            if k not in seen:
                seen.add(k)
                print(k)
        sys.stderr.write("corpus: %d candidates, %d refused\n" % (len(cands), n_refused))
        return 0
    if os.path.realpath(a.out).startswith(os.path.realpath(ROOT) + os.sep):
        sys.stderr.write("corpus: --out must be outside the source tree\n")
        return 1
    img_dir = os.path.join(a.out, "images")
    os.makedirs(img_dir, exist_ok=True)
    by_dom = {d: [c for c in cands if c.domain == d] for d in DOMAINS}
    rows = []
    for dom in DOMAINS:
        lst = by_dom[dom]
        rng.shuffle(lst)
        # spread over sources: each way of making this domain's images in
        # turn (PDF pages, HTML pages, text pages...), and within one way
        # round-robin by package (by package alone, one way with hundreds
        # of packages, such as dependency graphs, took every place)
        streams = []
        byhow = {}
        for c in lst:
            byhow.setdefault(c.how, {}).setdefault(c.pkg, []).append(c)
        for how in sorted(byhow):
            byp, seq = byhow[how], []
            while any(byp.values()):
                for p in sorted(byp):
                    if byp[p]:
                        seq.append(byp[p].pop())
            streams.append(seq)
        order = []
        while any(streams):
            for seq in streams:
                if seq:
                    order.append(seq.pop(0))
        html = [c for c in order[:int(a.per_domain * 1.4)] if c.how in ("htmldoc", "htmltable")]
        if html:
            prerender_html(html, os.path.join(a.out, "html-work"))
        made = 0
        for c in order:
            if made >= a.per_domain + (a.per_domain * 2 // 5 if dom == "photo" else 0):
                break
            ident = "%s%04d" % (dom[:2], made)
            base = os.path.join(img_dir, ident)
            crng = random.Random(hashlib.sha256((c.key() + repr(sorted(c.args.items())) +
                                                 str(a.seed)).encode()).hexdigest())
            try:
                f, how = RENDER[c.how](c, crng, base)
            except Exception as e:  # a bad source: say so, go on
                f, how = None, "error %s" % e
            if not f:
                continue
            made += 1
            rows.append([os.path.basename(f), dom, c.ctype, c.lang, "-", "-",
                         "%s:%s%s (%s)" % (c.pkg, c.src, " page %d" % c.page if c.page else "", how),
                         "-", c.pkg, c.src, str(c.page or "-"), how])
        sys.stderr.write("corpus: %s %d images\n" % (dom, made))
    split = assign_splits([(r[8], r[1]) for r in rows], a.seed)
    for r in rows:
        r[7] = split[r[8]]
    head = "file\tdomain\tchart_type\tlanguage\tdescription\tkey_text\tprovenance\tsplit\tpackage\tsource\tpage\trendered\n"
    body = "".join("\t".join(r) + "\n" for r in rows)
    for path in [os.path.join(a.out, "manifest.tsv")] + ([a.manifest_copy] if a.manifest_copy else []):
        with open(path, "w", encoding="utf-8") as f:
            f.write(head + body)
    sys.stderr.write("corpus: %d images in %s (%d candidates refused)\n" % (len(rows), a.out, n_refused))
    return 0


if __name__ == "__main__":
    sys.exit(main())
