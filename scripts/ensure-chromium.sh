#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing: the browser tests (cmd/apphub/browser_test.go)
# drive /usr/bin/chromium headless. Nothing is downloaded but Debian's package.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
	exit 0
fi
echo "== no /usr/bin/chromium: installing Debian's chromium"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
