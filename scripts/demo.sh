#!/usr/bin/env bash
# The main job on the built-in default: dependencies, model files, build,
# index the bundled samples/ into a demo database, run a sample query.
# Usage: scripts/demo.sh ["query"]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/fetch_models.sh
scripts/build.sh
DB=${OMNIDEX_DB:-$PWD/build/demo-db}
Q=${1:-bar chart}
echo "== omnidex --db $DB index samples/"
./build/omnidex --db "$DB" index samples/ || test $? -eq 1
echo "== omnidex --db $DB search \"$Q\""
./build/omnidex --db "$DB" search "$Q"
echo "== omnidex --db $DB search \"饼图\""
./build/omnidex --db "$DB" search -k 3 "饼图"
