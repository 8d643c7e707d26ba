#!/usr/bin/env bash
# Installs the Debian 12 packages omnidex builds and runs with.
set -euo pipefail
PKGS=(build-essential cmake pkg-config git ca-certificates
  libfaiss-dev libopenblas-dev libsqlite3-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev
  libutf8proc-dev libtesseract-dev tesseract-ocr-eng tesseract-ocr-chi-sim
  libcjson-dev libcurl4-openssl-dev libexif-dev libssl-dev
  libwebp-dev libgif-dev libtiff-dev libheif-dev     # WebP, GIF, TIFF, HEIC/AVIF decoders
  libheif-examples webp imagemagick                  # tests make HEIC/AVIF/WebP/GIF/TIFF/BMP fixtures
  unicode-data bzip2 wordnet-base unicode-cldr-core
  curl npm jq sqlite3 python3-jsonschema  # jsonschema: tests/integration/json_schema.sh
  libonnx-testdata  # ONNX's node tests: tests/unit/test_cap_onnx_node.c
  chromium fonts-wqy-zenhei  # tests/integration/webui.sh drives the page headless; CJK glyphs in its screenshots
  clang libclang-rt-14-dev libomp-dev)  # fuzz (libFuzzer) and TSan stages
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come from outside Debian (nodesource); accept any working npm.
if command -v npm >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
