#!/usr/bin/env bash
# System packages the tests need: headless Chromium and its driver (browser tests), and Tesseract OCR
# with the Indonesian language data (forwarded screenshots, `oki-monitor read-image`).
# Installs them with apt when missing and we are root; otherwise says what to install.
set -euo pipefail
missing=()
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  missing+=(chromium chromium-driver)
fi
if ! command -v tesseract >/dev/null 2>&1; then
  missing+=(tesseract-ocr tesseract-ocr-ind)
elif ! tesseract --list-langs 2>/dev/null | grep -qx ind; then
  missing+=(tesseract-ocr-ind)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} (browser and OCR tests)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Tests need Debian packages: ${missing[*]}" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
