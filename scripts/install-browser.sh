#!/usr/bin/env bash
# Install a headless Chromium for the browser tests (tests/test_html_browser.py).
#
# Idempotent: does nothing when one is already there (chromium, chromium-browser or
# google-chrome on PATH, or Playwright's own chromium). Otherwise, as root on Debian or
# Ubuntu: apt-get install chromium; else: python -m playwright install chromium, which
# downloads a build and needs network access. CI runs this before 'make test', and the
# browser tests fail under CI=true when no browser is found (they skip elsewhere).
#
# Usage: scripts/install-browser.sh            (PYTHON=... picks the interpreter with playwright)
set -euo pipefail

cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

found() {
    local name
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then
            echo "install-browser: found $name at $(command -v "$name")"
            return 0
        fi
    done
    local path
    if path=$("$PYTHON" - 2>/dev/null <<'PY'
import os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    path = p.chromium.executable_path
print(path)
sys.exit(0 if path and os.path.exists(path) else 1)
PY
    ); then
        echo "install-browser: found Playwright's chromium at $path"
        return 0
    fi
    return 1
}

if found; then
    echo "install-browser: nothing to do"
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends chromium; then
        apt-get update
        apt-get install -y --no-install-recommends chromium
    fi
else
    echo "install-browser: not root (or no apt-get): trying '$PYTHON -m playwright install chromium'"
    if ! "$PYTHON" -m playwright install chromium; then
        cat >&2 <<'MSG'
install-browser: error: could not install a Chromium.
  'python -m playwright install chromium' failed: it downloads a build, so it needs network
  access (and playwright installed: pip install -e '.[browser]'). Alternatives:
    - as root on Debian/Ubuntu: apt-get install -y --no-install-recommends chromium
    - put chromium, chromium-browser or google-chrome on PATH
  Without a browser the browser tests are skipped, or fail when CI=true.
MSG
        exit 1
    fi
fi

if found; then
    exit 0
fi
echo "install-browser: error: the installation finished but no Chromium is found" >&2
exit 1
