#!/usr/bin/env bash
# labels: integration
# The installed tree is usable on its own (issue 11): cmake --install into a
# temporary prefix P; build examples/search.c with only P's pkg-config file
# (and a CMake project with only P on CMAKE_PREFIX_PATH); index the samples
# with the installed binary (models found under P/share/omnidex/models); the
# example answers a query. Also: libomnidex.so exports only odx_* symbols,
# and the installed static libomnidex.a has only them global and links the
# example alone.
set -u
BIN=${1:?usage: install_example.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
BUILD=${ODX_BUILD_DIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=$T/prefix
fails=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1
check "cmake --install exits 0" test $? -eq 0
for f in bin/omnidex lib/libomnidex.so lib/libomnidex.so.0 include/omnidex.h \
         lib/pkgconfig/omnidex.pc lib/cmake/omnidex/omnidexConfig.cmake \
         lib/cmake/omnidex/omnidexConfigVersion.cmake share/man/man1/omnidex.1 \
         share/omnidex/models/nanodet.json; do
  check "installed $f" test -e "$P/$f"
done
check "libomnidex.so is a link to the soname" test -L "$P/lib/libomnidex.so"

# Exports: exactly the ODX_API calls of the header.
nm -D --defined-only "$P/lib/libomnidex.so" | awk '$3 !~ /^OMNIDEX_/ {sub(/@.*/, "", $3); print $3}' \
  | sort >"$T/exported"
grep -o 'ODX_API [^(]*(' "$SRC/include/omnidex.h" | sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' \
  | grep '^odx_' | sort >"$T/declared"
check "exports only odx_* symbols" sh -c "! grep -qv '^odx_' '$T/exported'"
check "exports every declared ODX_API call and nothing else" diff "$T/declared" "$T/exported"

# Build the example with nothing but P: no source-tree include path.
PC="PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_LIBDIR=$P/lib/pkgconfig"
flags=$(env $PC pkg-config --cflags --libs omnidex)
check "pkg-config knows omnidex ($flags)" test -n "$flags"
cc -std=c11 -Wall -Wextra -Werror "$SRC/examples/search.c" $flags -o "$T/search" 2>"$T/cc.err"
check "examples/search.c builds against P" test $? -eq 0

# The static library: only the ODX_API calls global (C++ COMDAT copies,
# weak, aside), and a program linked with it needs no libomnidex.so.
check "installed lib/libomnidex.a" test -f "$P/lib/libomnidex.a"
nm -g --defined-only "$P/lib/libomnidex.a" 2>/dev/null | awk 'NF == 3 && $2 !~ /^[WVwv]$/ {print $3}' \
  | sort >"$T/static_globals"
check "libomnidex.a: its strong globals are the declared ODX_API calls" diff "$T/declared" "$T/static_globals"
libs=$(env $PC pkg-config --static --libs-only-l omnidex | tr ' ' '\n' | grep -v '^-lomnidex$' | tr '\n' ' ')
cc -std=c11 -Wall -Wextra -Werror "$SRC/examples/search.c" $(env $PC pkg-config --cflags omnidex) \
  "$P/lib/libomnidex.a" $libs -o "$T/search_static" 2>"$T/cc_static.err"
check "examples/search.c links statically (libomnidex.a + Libs.private)" test $? -eq 0
check "  ... without libomnidex.so" sh -c "! ldd '$T/search_static' | grep -q libomnidex"

# A CMake consumer with only P on the prefix path.
mkdir -p "$T/cm"
cat >"$T/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(uses_omnidex C)
find_package(omnidex 0.1 REQUIRED CONFIG)
add_executable(search "$SRC/examples/search.c")
target_link_libraries(search PRIVATE omnidex::omnidex)
CM
(cmake -S "$T/cm" -B "$T/cm/b" -DCMAKE_PREFIX_PATH="$P" && cmake --build "$T/cm/b") >"$T/cm.log" 2>&1
check "find_package(omnidex) project builds" test -x "$T/cm/b/search"

# Index the samples with the installed binary; it must find the models under
# P (no OMNIDEX_MODELS, HOME without models).
export HOME=$T/home XDG_DATA_HOME=$T/home/data
unset OMNIDEX_MODELS OMNIDEX_DB
"$P/bin/omnidex" --db "$T/db" index --quiet "$SRC/samples" >"$T/index.out" 2>"$T/index.err"
rc=$?
check "installed omnidex indexes the samples (rc=$rc)" test $rc -eq 0
check "no missing-models warning" sh -c "! grep -qi 'model' '$T/index.err'"

LD_LIBRARY_PATH=$P/lib "$T/search" "$T/db" "table of cities" >"$T/out" 2>"$T/err"
rc=$?
check "example exits 0 (rc=$rc)" test $rc -eq 0
check "example prints the table first" sh -c "sed -n 2p '$T/out' | grep -q table_cities"
check "example prints the library version" grep -q "^omnidex 0\.1\.0: " "$T/out"
LD_LIBRARY_PATH=$P/lib "$T/cm/b/search" "$T/db" "bar chart" >"$T/out2" 2>&1
check "the CMake-built example answers too" grep -q bar_rainfall "$T/out2"
"$T/search_static" "$T/db" "table of cities" >"$T/out_static" 2>&1
check "the static example answers the same" cmp -s "$T/out" "$T/out_static"
LD_LIBRARY_PATH=$P/lib "$T/search" "$T/nothing" "x" >/dev/null 2>"$T/err3"
check "example reports a missing index (exit 1)" test $? -eq 1

if [ $fails -ne 0 ]; then
  sed -n 1,20p "$T/cc.err" "$T/cc_static.err" "$T/index.err" "$T/err" "$T/cm.log" 2>/dev/null
  echo "$fails check(s) failed"; exit 1
fi
echo "all ok"
