#!/usr/bin/env bash
# scripts/chromium.sh: install Debian's chromium when missing (the console's
# browser tests drive it headless through chromedp), then print its path.
# Needs root or sudo for apt-get.
#
#   scripts/chromium.sh          install if missing, print the binary's path
#   scripts/chromium.sh flags    print the headless flags the tests use
#
# The tests start it with these flags and a new empty --user-data-dir each
# run; to try a page by hand:
#   chromium $(scripts/chromium.sh flags) --user-data-dir="$(mktemp -d)" \
#     --screenshot=/tmp/x.png http://127.0.0.1:8080/console/
set -euo pipefail

if [[ "${1:-}" == flags ]]; then
	echo "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync"
	exit 0
fi

find_chromium() {
	for c in chromium chromium-browser; do
		if command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

if p=$(find_chromium); then
	echo "$p"
	exit 0
fi
echo "chromium.sh: installing chromium with apt-get" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
find_chromium
