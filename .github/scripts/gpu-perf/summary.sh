#!/usr/bin/env bash
# Step (always): the perf run's short summary on the job's page; the full
# report is in the gpu-reports artifact.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
dir=${PERF_REPORT_DIR:-reports}
if [ -f "$dir/summary.md" ]; then
  cat "$dir/summary.md" >> "$GITHUB_STEP_SUMMARY"
else
  echo "### perf: did not run (an earlier step failed)" >> "$GITHUB_STEP_SUMMARY"
fi
