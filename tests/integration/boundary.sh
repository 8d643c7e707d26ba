#!/usr/bin/env bash
# labels: unit
# The folders' boundaries, checked on the built archives (nm) and the
# sources: only storage/ calls SQLite (no sqlite3_* symbol is undefined in
# another folder's archive, no store_sqlite() call outside storage/ and
# storage's own tests), and no folder's public header includes SQLite's,
# FAISS's or Tesseract's headers (they are for *_int.h and .c files).
set -u
BUILD=${ODX_BUILD_DIR:?run through ctest (ODX_BUILD_DIR)}
SRC=${ODX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
command -v nm >/dev/null || { echo "FAIL nm missing (binutils)"; exit 1; }

# archive of each folder: build/<folder>/lib*.a
archives=$(find "$BUILD" -path "$BUILD/third_party" -prune -o -name 'lib*.a' -print | sort)
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

echo "$fails failed"
exit $((fails > 0))
