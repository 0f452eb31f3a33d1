#!/usr/bin/env bash
# Step: the run history, read from the branch perf-history (HISTORY_BRANCH)
# of the repository (HISTORY_REPO names another clone) into
# $RUNNER_TEMP/perf-history, which the sweep gates against and appends this
# run to (PERF_HISTORY). This job only reads the branch: the workflow's
# history job writes it, on scheduled runs alone. The files already there
# are listed in .pooled, so history-new.sh can tell this run's apart.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo=${HISTORY_REPO:-.}
branch=${HISTORY_BRANCH:-perf-history}
dest=${RUNNER_TEMP:-$PWD}/perf-history
rm -rf "$dest"
mkdir -p "$dest"
if git -C "$repo" rev-parse -q --verify "origin/$branch" > /dev/null; then
  git -C "$repo" archive "origin/$branch" | tar -x -C "$dest"
fi
(cd "$dest" && find . -maxdepth 1 -name '*.json' -printf '%f\n' | sort) > "$dest/.pooled"
runs=$(grep -c '^run-' "$dest/.pooled" || true)
echo "PERF_HISTORY=$dest" >> "$GITHUB_ENV"
if [ "$runs" -eq 0 ]; then
  # shellcheck disable=SC2016 # the backticks are Markdown
  printf 'Run history: none yet on `%s`; scheduled runs start it.\n\n' "$branch" >> "$GITHUB_STEP_SUMMARY"
else
  # shellcheck disable=SC2016
  printf 'Run history: %s runs from `%s`.\n\n' "$runs" "$branch" >> "$GITHUB_STEP_SUMMARY"
fi
