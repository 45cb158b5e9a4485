#!/usr/bin/env bash
# Builds the example site offline into a scratch directory and prints the
# sha256 of the archive and of every file of the bundle directory. A change
# that only restructures code must print the same lines before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -trimpath -o "$out/bundle" ./cmd/bundle
go run ./internal/cmd/demo-inputs -dir examples/mesos-site >/dev/null
"$out/bundle" build examples/mesos-site -o "$out/dist" --offline >/dev/null 2>&1 ||
	{ "$out/bundle" build examples/mesos-site -o "$out/dist" --offline; exit 1; }
cd "$out/dist"
sha256sum ./*.tar.zst
find . -type f ! -name '*.tar.zst' -print0 | sort -z | xargs -0 sha256sum | sha256sum | sed 's/-$/(every file of the bundle directory)/'
