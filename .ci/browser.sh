#!/usr/bin/env bash
# Install the system Chromium that tests/serve/test_browser.py drives through Playwright
# (Debian's package, at /usr/bin/chromium), with fonts so that screenshots show text.
# Idempotent and quiet: installs only what is missing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium fonts-dejavu-core fonts-liberation)

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "browser.sh: chromium is installed but $CHROMIUM is missing" >&2
    exit 1
fi
echo "browser.sh: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") ready"
