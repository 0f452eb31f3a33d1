#!/usr/bin/env bash
# Job history (scheduled runs of the default branch only, contents: write):
# the night's new files (HISTORY_NEW, from the gpu-reports artifact) added
# to the branch perf-history (HISTORY_BRANCH), created on the first night.
# A file already on the branch is never overwritten.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
new=${HISTORY_NEW:-gpu-reports/history-new}
branch=${HISTORY_BRANCH:-perf-history}
shopt -s nullglob
files=("$new"/*.json)
if [ ${#files[@]} -eq 0 ]; then
  echo "no new run in $new (the sweep did not run to its end): nothing to record"
  exit 0
fi
wt=$(mktemp -d)
trap 'git worktree remove --force "$wt" > /dev/null 2>&1 || true' EXIT
git fetch -q origin "$branch" 2> /dev/null || true
if git rev-parse -q --verify "origin/$branch" > /dev/null; then
  git worktree add -q -B "$branch" "$wt" "origin/$branch"
else
  git worktree add -q --detach "$wt"
  git -C "$wt" checkout -q --orphan "$branch"
  git -C "$wt" rm -rfq .
fi
for f in "${files[@]}"; do
  if [ -e "$wt/$(basename "$f")" ]; then
    echo "$(basename "$f") is already on $branch: kept as it is"
  else
    cp "$f" "$wt/"
  fi
done
git -C "$wt" add -A
if git -C "$wt" diff --cached --quiet; then
  echo "nothing new for $branch"
  exit 0
fi
git -C "$wt" -c user.name='github-actions[bot]' -c user.email='41898282+github-actions[bot]@users.noreply.github.com' \
  commit -q -m "perf-history: $(basename "${files[0]}" .json)"
git -C "$wt" push -q origin "$branch"
echo "recorded on $branch: ${files[*]##*/}"
