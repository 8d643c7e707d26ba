#!/usr/bin/env bash
# labels: slow
# The crash test with more kills and a bigger folder (see idx_crash.sh).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IDX_CRASH_KILLS=${IDX_CRASH_KILLS:-100} IDX_CRASH_IMAGES=${IDX_CRASH_IMAGES:-600} \
  exec bash "$HERE/idx_crash.sh" "$@"
