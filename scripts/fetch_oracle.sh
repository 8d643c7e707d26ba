#!/bin/sh
# fetch_oracle.sh - fetches the reference ONNX runtime used by the tests only
# (never by omnidex itself): npm onnxruntime-node@1.30.0 (the onnxruntime CPU
# library + its Node binding, MIT) and onnxruntime-common@1.30.0, SHA-256
# checked, unpacked as DIR/node_modules/{onnxruntime-node,onnxruntime-common}.
# Usage: scripts/fetch_oracle.sh [DIR]
#   DIR defaults to $OMNIDEX_ORACLE, else ./models/oracle in the repository.
# Needs npm (registry access) and tar. Idempotent.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${OMNIDEX_ORACLE:-$here/models/oracle}}
PKGS="onnxruntime-node:1.30.0:6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
onnxruntime-common:1.30.0:7906c439e0d3e0f4048caa23b64cdfadc0f455c377f579ce1ab2a4b778f07d5f"

if [ -f "$dir/node_modules/onnxruntime-node/.odx-verified" ] &&
   [ -f "$dir/node_modules/onnxruntime-common/.odx-verified" ]; then
    echo "fetch_oracle: onnxruntime-node already present in $dir"
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch_oracle: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$dir/node_modules"
for p in $PKGS; do
    name=${p%%:*}; rest=${p#*:}; ver=${rest%%:*}; want=${rest#*:}
    echo "fetch_oracle: downloading $name@$ver ..."
    (cd "$tmp" && npm pack --silent "$name@$ver" >/dev/null) || {
        echo "fetch_oracle: npm pack $name@$ver failed (no registry access?)" >&2; exit 1; }
    tgz="$tmp/$name-$ver.tgz"
    got=$(sha256sum "$tgz" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        echo "fetch_oracle: SHA-256 mismatch for $name-$ver.tgz: got $got, want $want" >&2
        exit 1
    fi
    rm -rf "$tmp/package" "$dir/node_modules/$name"
    tar -xzf "$tgz" -C "$tmp"
    mv "$tmp/package" "$dir/node_modules/$name"
    touch "$dir/node_modules/$name/.odx-verified"
done
echo "fetch_oracle: onnxruntime-node ready in $dir"
