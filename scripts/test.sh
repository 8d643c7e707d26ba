#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: dependencies, model
# files (npm), build, ctest; then the unit and robustness tests again in an
# AddressSanitizer + UBSan build. Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/fetch_models.sh
scripts/fetch_oracle.sh
scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j2 "$@")
if [ "${ODX_SKIP_ASAN:-0}" != 1 ]; then
  echo "== sanitizer build (address + undefined): unit and robustness tests"
  BUILD_DIR=build-asan scripts/build.sh -DODX_SANITIZE=ON
  (cd build-asan && ctest --output-on-failure -j2 -L 'unit|robustness')
fi
