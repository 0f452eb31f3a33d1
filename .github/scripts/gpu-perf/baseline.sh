#!/usr/bin/env bash
# Step: the gate's baseline, from the default branch ($BASELINE in the
# repository at origin/$DEFAULT_BRANCH; BASELINE_REPO names another clone).
# Without one the run measures and reports, gates nothing, and the job
# summary says how to make one.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo=${BASELINE_REPO:-.}
dest=${RUNNER_TEMP:-$PWD}/baseline.json
if git -C "$repo" show "origin/$DEFAULT_BRANCH:$BASELINE" > "$dest" 2>/dev/null; then
  echo "PERF_BASELINE=$dest" >> "$GITHUB_ENV"
  # shellcheck disable=SC2016 # the backticks are Markdown
  printf 'Gated against `%s` from `%s`.\n\n' "$BASELINE" "$DEFAULT_BRANCH" >> "$GITHUB_STEP_SUMMARY"
else
  rm -f "$dest"
  warn "no baseline" "\`$BASELINE\` is not on \`$DEFAULT_BRANCH\`: this run measured and reported, and could not fail on a regression. Commit this run's \`results.json\` (artifact \`gpu-reports\`) as \`$BASELINE\` to gate later runs (README: the GPU workflow's baseline)."
fi
