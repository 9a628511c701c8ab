#!/usr/bin/env bash
# System packages the tests need: headless Chromium and its driver (browser tests), and Tesseract OCR
# with the Indonesian language data (forwarded screenshots, `oki-monitor read-image`).
# npm installs axe-core (accessibility test) into a cache folder: scripts/axe-core.sh.
# Installs them with apt when missing and we are root; otherwise says what to install.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing=()
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  missing+=(chromium chromium-driver)
fi
if ! command -v tesseract >/dev/null 2>&1; then
  missing+=(tesseract-ocr tesseract-ocr-ind)
elif ! tesseract --list-langs 2>/dev/null | grep -qx ind; then
  missing+=(tesseract-ocr-ind)
fi
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} (browser, accessibility and OCR tests)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Tests need Debian packages: ${missing[*]}" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
# The only download the test suite needs from a registry; done here so the tests themselves stay offline.
bash "$here/axe-core.sh" >/dev/null
