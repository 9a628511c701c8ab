#!/usr/bin/env bash
# axe-core (Deque, MPL-2.0) for the accessibility browser test (tests/test_browser_a11y.py): the npm
# package at one pinned version, installed with npm into a cache folder outside the checkout, once.
# Prints the path of axe.min.js. The test reads the same folder (OKI_AXE_CORE_DIR overrides it).
set -euo pipefail
version="4.14.1"
dir="${OKI_AXE_CORE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oki-monitor/axe-core-$version}"
script="$dir/node_modules/axe-core/axe.min.js"
if [ ! -s "$script" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "axe-core needs npm (Debian package 'npm')." >&2
    exit 1
  fi
  mkdir -p "$dir"
  # --ignore-scripts: axe-core has no install step, and nothing from the registry should run here.
  # npm checks the tarball against the registry's sha512 integrity before unpacking it.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "axe-core@$version" >&2
fi
test -s "$script"
echo "$script"
