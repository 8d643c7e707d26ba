#!/usr/bin/env bash
# labels: unit
# The folders' boundaries, checked on the built archives (nm) and the
# sources: only storage/ calls SQLite (no sqlite3_* symbol is undefined in
# another folder's archive, no store_sqlite() call outside storage/ and
# storage's own tests); no folder's public header includes SQLite's,
# FAISS's or Tesseract's headers (they are for *_int.h and .c files);
# only lib/ defines odx_* symbols; no two files (and no two folders) need
# each other's symbols, directly or through others.
set -u
BUILD=${ODX_BUILD_DIR:?run through ctest (ODX_BUILD_DIR)}
SRC=${ODX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
command -v nm >/dev/null || { echo "FAIL nm missing (binutils)"; exit 1; }

# archive of each folder: build/<folder>/lib*.a
# (not lib/static/libomnidex.a: those archives bundled, see lib/CMakeLists.txt)
archives=$(find "$BUILD" \( -path "$BUILD/third_party" -o -path "$BUILD/lib/static" \) -prune \
    -o -name 'lib*.a' -print | sort)
[ -n "$archives" ] || { echo "FAIL no archives under $BUILD"; exit 1; }
for a in $archives; do
    folder=$(basename "$(dirname "$a")")
    name=$(basename "$a")
    [ "$folder" = storage ] && continue
    calls=$(nm -u "$a" 2>/dev/null | awk '$1 == "U" && $2 ~ /^sqlite3_/ {print $2}' | sort -u | tr '\n' ' ')
    if [ -n "$calls" ]; then
        fail "$folder/$name calls SQLite: $calls"
    else
        ok "$folder/$name: no sqlite3_* call"
    fi
done

hits=$(cd "$SRC" && grep -rn --include='*.c' --include='*.h' 'store_sqlite *(' \
    core captioner embedder storage indexer retriever lib server cli bench tests 2>/dev/null |
    grep -v '^storage/' | grep -v '^tests/unit/test_store_' | grep -v '^tests/unit/test_emb_fts_rebuild.c')
if [ -n "$hits" ]; then
    fail "store_sqlite() outside storage/: $hits"
else
    ok "store_sqlite() only in storage/ and its tests"
fi

# public headers of the folders (not *_int.h): no foreign engine types
n_before=$fails
for h in $(cd "$SRC" && ls core/*.h captioner/*.h embedder/*.h storage/*.h indexer/*.h \
           retriever/*.h server/*.h include/*.h 2>/dev/null | grep -v '_int\.h$'); do
    inc=$(grep -nE '#include *<(sqlite3|faiss/|tesseract/|leptonica/)' "$SRC/$h")
    if [ -n "$inc" ]; then
        fail "$h includes an engine's header: $inc"
    fi
done
[ $fails -eq $n_before ] && ok "folder headers include no SQLite/FAISS/Tesseract header"

# every odx_* symbol is defined in lib/ (the library behind omnidex.h)
for a in $archives; do
    folder=$(basename "$(dirname "$a")")
    [ "$folder" = lib ] && continue
    defs=$(nm --defined-only "$a" 2>/dev/null | awk '$2 ~ /^[TDBRCVW]$/ && $3 ~ /^odx_/ {print $3}' | sort -u | tr '\n' ' ')
    if [ -n "$defs" ]; then
        fail "$folder/$(basename "$a") defines public symbols: $defs"
    else
        ok "$folder/$(basename "$a"): no odx_* definition"
    fi
done

# circles: a file that needs a symbol of a file that needs one of its own
# (through any chain). Allowed: captioner/runtime model.c <-> ops.c (tensor
# allocation lives in model.c; left to the runtime's owner).
command -v python3 >/dev/null || { echo "FAIL python3 missing"; exit 1; }
cycles=$(python3 - $archives <<'EOF'
import collections, subprocess, sys
defs, need = {}, collections.defaultdict(set)
for a in sys.argv[1:]:
    folder = a.split('/')[-2]
    out = subprocess.run(['nm', '-A', a], capture_output=True, text=True).stdout
    for line in out.splitlines():
        _, obj, rest = line.split(':', 2)
        f = folder + '/' + obj[:-2]
        p = rest.split()
        if len(p) == 3 and p[1] in 'TDBRCVW':
            defs[p[2]] = f
        elif len(p) == 2 and p[0] == 'U':
            need[f].add(p[1])
g = collections.defaultdict(set)
for f, syms in need.items():
    for s in syms:
        if s in defs and defs[s] != f:
            g[f].add(defs[s])
sys.setrecursionlimit(100000)
def circles(g):
    index, low, stack, on, n, found = {}, {}, [], set(), [0], []
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))
    for v in list(g):
        if v not in index:
            visit(v)
    return found
for c in circles(g):
    if c != ['captioner/model.c', 'captioner/ops.c']:
        print('files: ' + ' <-> '.join(c))
fg = collections.defaultdict(set)
for f, ts in g.items():
    for t in ts:
        if f.split('/')[0] != t.split('/')[0]:
            fg[f.split('/')[0]].add(t.split('/')[0])
for c in circles(fg):
    print('folders: ' + ' <-> '.join(c))
EOF
)
if [ -n "$cycles" ]; then
    fail "circles (each needs a symbol of the next): $cycles"
else
    ok "no circle between files (allowed: captioner/runtime model.c <-> ops.c)"
fi


# the shipped binary links the bundled libomnidex.a: the library's internals
# are local symbols there, test build (ODX_TESTS, ODX_STATIC) or not
BIN=${1:-}
if [ -n "$BIN" ] && [ -x "$BIN" ]; then
    glob=$(readelf -sW "$BIN" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 ~ /^(cap|emb|store|idx|ret|core|tfj|rmt|lib)_/ {print $8}' | sort -u)
    if [ -n "$glob" ]; then
        fail "the binary has $(wc -l <<<"$glob") of the library's internals as global symbols: $(head -5 <<<"$glob" | tr '\n' ' ')"
    else
        ok "the binary keeps the library's internals local"
    fi
else
    fail "no binary given"
fi
echo "$fails failed"
exit $((fails > 0))
