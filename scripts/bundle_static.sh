#!/usr/bin/env bash
# bundle_static.sh OUT ARCHIVE... - the installed static libomnidex.a: the
# objects of the library's archives linked into one relocatable object
# (ld -r), its hidden symbols made local (objcopy --localize-symbols), so
# only the ODX_API calls (default visibility) stay global: a program that
# links it can neither call nor collide with an internal name.
set -euo pipefail
out=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for a in "$@"; do
    i=$((i + 1))
    mkdir "$tmp/$i"
    (cd "$tmp/$i" && ar x "$a")
done
ld -r -o "$tmp/omnidex.o" "$tmp"/*/*.o
# hidden, defined, GLOBAL (not WEAK: COMDAT copies such as C++'s
# DW.ref.__gxx_personality_v0 are shared with other archives' objects and
# must stay global for the linker to merge them)
readelf -sW "$tmp/omnidex.o" |
    awk '$5 == "GLOBAL" && $6 == "HIDDEN" && $7 != "UND" {print $8}' | sort -u >"$tmp/local"
objcopy --localize-symbols="$tmp/local" "$tmp/omnidex.o"
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
ar rcs "$out.tmp" "$tmp/omnidex.o"
mv "$out.tmp" "$out"
