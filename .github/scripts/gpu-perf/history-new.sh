#!/usr/bin/env bash
# Step (always): this run's files in the run history (those history.sh did
# not find there) into $PERF_REPORT_DIR/history-new, so they travel in the
# gpu-reports artifact to the history job. None when the sweep did not run
# to its end: an interrupted night is not history.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
src=${PERF_HISTORY:?PERF_HISTORY: unset; the history step sets it}
out=${PERF_REPORT_DIR:-reports}/history-new
mkdir -p "$out"
(cd "$src" && find . -maxdepth 1 -name '*.json' -printf '%f\n' | sort) | comm -13 "$src/.pooled" - | while read -r f; do
  cp "$src/$f" "$out/"
  echo "new in the run history: $f"
done
