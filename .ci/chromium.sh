#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser, Playwright drives it), installed
# if the machine has none. Prints the path to export.
# Usage: eval "$(.ci/chromium.sh)"  -> exports PAGEFLOWS_CHROMIUM
set -euo pipefail
path=$(command -v chromium || true)
if [ -z "$path" ]; then
  if [ "$(id -u)" != 0 ]; then echo "echo 'Chromium is not installed and we are not root' >&2"; exit 0; fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) >&2
  path=$(command -v chromium)
fi
echo "export PAGEFLOWS_CHROMIUM=$path"
