#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: dependencies, model
# files (npm), build, ctest. Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/fetch_models.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 "$@"
