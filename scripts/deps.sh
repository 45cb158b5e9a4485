#!/usr/bin/env bash
# Installs what the tests use and this machine lacks: the Debian packages
# listed in scripts/debian-packages.txt (with apt-get as root, else through
# sudo; otherwise it stops at once and prints the command to run) and the
# locked npm packages of internal/sbomcheck. Used by `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

pkgs="$(sed -e 's/#.*//' scripts/debian-packages.txt | xargs)"
missing=""
if command -v dpkg-query >/dev/null; then
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	# npm may come from elsewhere (nodesource); only a missing command counts.
	command -v npm >/dev/null || missing="$missing npm"
else
	echo "deps.sh: not a Debian system (no dpkg-query); the tests need these Debian packages or their equivalents: $pkgs" >&2
	exit 1
fi

if [ -n "$missing" ]; then
	cmd="apt-get install -y --no-install-recommends$missing"
	if [ "$(id -u)" = 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null && { [ -t 0 ] || sudo -n true 2>/dev/null; }; then
		sudo="sudo"
	else
		echo "deps.sh: missing Debian packages:$missing" >&2
		echo "deps.sh: as root, run: apt-get update && $cmd" >&2
		exit 1
	fi
	echo "deps.sh: installing$missing" >&2
	$sudo apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -f internal/sbomcheck/node_modules/@cyclonedx/cyclonedx-library/package.json ]; then
	(cd internal/sbomcheck && npm ci --no-audit --no-fund --loglevel=error)
fi
