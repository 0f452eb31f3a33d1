#!/usr/bin/env bash
# Step (always): the perf run's short summary on the job's page; the full
# report, and the run history's trend when there is one, are in the
# gpu-reports artifact, linked from the summary.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
dir=${PERF_REPORT_DIR:-reports}
if [ -f "$dir/summary.md" ]; then
  cat "$dir/summary.md" >> "$GITHUB_STEP_SUMMARY"
else
  echo "### perf: did not run (an earlier step failed)" >> "$GITHUB_STEP_SUMMARY"
fi
if [ -f "$dir/trend.md" ]; then
  run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"
  # shellcheck disable=SC2016 # the backticks are Markdown
  printf '\nTrend of the run history: `trend.md` and `trend/` in the [gpu-reports artifact](%s#artifacts).\n' "$run_url" >> "$GITHUB_STEP_SUMMARY"
fi
