#!/usr/bin/env bash
# scripts/deps.sh: install the Debian packages `make test` needs when they are
# missing, so that the README's two commands are the whole set-up on a fresh
# machine: kcat (a third-party Kafka client one interoperability test reads
# with) and gcc (`go test -race` needs cgo). Needs root or sudo for apt-get.
set -euo pipefail

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
if ((${#missing[@]} == 0)); then
	exit 0
fi
echo "deps.sh: installing ${missing[*]} with apt-get" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
