#!/usr/bin/env bash
# Installs the npm packages of the web UI (uPlot, served by `runicorn viewer`) and of its browser
# end-to-end tests (playwright-core, which drives Debian's chromium: no browser is downloaded).
# Exact versions come from the package-lock.json files (`npm ci`). Idempotent: a folder whose
# node_modules already matches its lockfile is skipped. Called by scripts/setup-deps.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v npm >/dev/null 2>&1; then
  echo "setup-web: npm not found (install nodejs and npm: scripts/setup-deps.sh)" >&2
  exit 1
fi

for dir in apps/runicorn/web tests/e2e; do
  stamp="$repo/$dir/node_modules/.package-lock.json"
  # npm keeps a copy of what it installed in node_modules/.package-lock.json; the same resolved
  # tarballs and integrity hashes as the lockfile means nothing to do.
  if [ -f "$stamp" ] && cmp -s <(grep -E '"(resolved|integrity)"' "$repo/$dir/package-lock.json") \
                                 <(grep -E '"(resolved|integrity)"' "$stamp"); then
    echo "setup-web: $dir up to date"
    continue
  fi
  echo "setup-web: npm ci in $dir"
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core never downloads, but be explicit.
  (cd "$repo/$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
done
