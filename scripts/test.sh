#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: dependencies, model
# files (npm), build, ctest; then the unit and robustness tests again in an
# AddressSanitizer + UBSan build; then a ThreadSanitizer build's indexer
# and captioner tests plus a 4-worker index run with OCR (its stderr must
# stay empty); then a short libFuzzer run of every fuzz target (clang;
# tests/fuzz/README.md). Usage: scripts/test.sh [ctest args...]
# ODX_SKIP_ASAN=1 / ODX_SKIP_TSAN=1 / ODX_SKIP_FUZZ=1 skip a stage;
# ODX_FUZZ_SECONDS (default 60) is the time per fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/fetch_models.sh
scripts/fetch_oracle.sh
scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j2 "$@")
if [ "${ODX_SKIP_ASAN:-0}" != 1 ]; then
  echo "== sanitizer build (address + undefined): unit and robustness tests"
  # Build-time generators (embedder/tools) are compiled with the sanitizers
  # too; their leaks at exit are not the product's: LeakSanitizer is off
  # while building, on while testing.
  ASAN_OPTIONS=detect_leaks=0 BUILD_DIR=build-asan scripts/build.sh -DODX_SANITIZE=ON
  (cd build-asan && ctest --output-on-failure -j2 -L 'unit|robustness')
fi
if [ "${ODX_SKIP_TSAN:-0}" != 1 ]; then
  echo "== ThreadSanitizer build: indexer and captioner tests, a 4-worker index run with OCR"
  BUILD_DIR=build-tsan scripts/build.sh -DODX_TSAN=ON -DODX_BENCH=OFF
  export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 exitcode=66"
  (cd build-tsan && ctest --output-on-failure -j2 -L unit -R 'idx|cap' -E oracle)
  tsan_db=$(mktemp -d)
  OMP_THREAD_LIMIT=1 build-tsan/omnidex --db "$tsan_db/db" index --quiet --workers 4 samples \
    tests/fixtures/ocr 2>"$tsan_db/err"
  # Under TSan a file takes ten times as long: the indexer's own "has been in
  # work for N s" warning is expected there; anything else on stderr (a race
  # report, library noise) fails the stage.
  if grep -v "has been in work for [0-9]* s\$" "$tsan_db/err" | grep -q .; then
    cat "$tsan_db/err"; rm -rf "$tsan_db"; exit 1
  fi
  rm -rf "$tsan_db"
  unset TSAN_OPTIONS
fi
if [ "${ODX_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz build (clang, libFuzzer + address + undefined): ${ODX_FUZZ_SECONDS:-60} s per target"
  cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DODX_FUZZ=ON -DODX_BENCH=OFF \
    -DODX_FUZZ_SECONDS="${ODX_FUZZ_SECONDS:-60}" >/dev/null
  ASAN_OPTIONS=detect_leaks=0 cmake --build build-fuzz -j"$(nproc)" --target fuzz
  (cd build-fuzz && ctest --output-on-failure -L fuzz)
fi
