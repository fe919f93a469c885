#!/usr/bin/env bash
# Install a Node app's pinned packages (package.json + package-lock.json in the folder given)
# with `npm ci` into ${XDG_CACHE_HOME:-~/.cache}/gwsync/npm/<hash of both files>, once: a no-op
# when that folder is complete. Prints the folder (its node_modules is the app's) on stdout.
# Used by the interop tests (tests/integration/interop/launchers/node.py); runnable by hand.
set -euo pipefail
app=${1:?usage: install.sh <folder with package.json and package-lock.json>}
command -v node >/dev/null || { echo "node is not installed" >&2; exit 3; }
command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 3; }
hash=$(cat "$app/package.json" "$app/package-lock.json" | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gwsync/npm
dest=$cache/$hash
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/.install-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$app/package.json" "$app/package-lock.json" "$work/"
(cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
touch "$work/.complete"
# Another install may have finished first: theirs is as good as ours.
mv -T "$work" "$dest" 2>/dev/null || [ -f "$dest/.complete" ]
trap - EXIT
rm -rf "$work"
echo "$dest"
