#!/usr/bin/env bash
# System packages the tests need: headless Chromium and its driver (browser tests).
# Installs them with apt when missing and we are root; otherwise says what to install.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver (browser tests)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
  echo "Browser tests need Debian packages 'chromium' and 'chromium-driver':" >&2
  echo "  sudo apt-get install chromium chromium-driver" >&2
  exit 1
fi
