#!/usr/bin/env bash
# Deploy a bundle to a vCenter simulator on loopback, deploy it again (no
# changes), and show what is in the simulator.
#   scripts/demo-deploy.sh BUNDLE_DIR
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1/bundle.json" ]; then
	echo "usage: $0 BUNDLE_DIR   (a bundle directory holding bundle.json)" >&2
	exit 2
fi
bundle_dir=$1
cd "$(dirname "$0")/.."
bin=${BIN:-bin}
mkdir -p "$bin"
export CGO_ENABLED=0
go build -trimpath -o "$bin/" ./cmd/bundle ./internal/cmd/vcsim ./internal/cmd/govc ./internal/cmd/registry ./internal/cmd/bde-standin ./internal/cmd/marathon-standin ./internal/cmd/chronos-standin

log=$(mktemp)
"$bin/vcsim" -port 0 >"$log" 2>&1 &
sim=$!
reglog=$(mktemp)
"$bin/registry" >"$reglog" 2>&1 &
reg=$!
# BDE's REST API, stood in on loopback, with no cluster yet: the clusters
# step creates mesos01 from the bundle's spec, then leaves it alone.
bdelog=$(mktemp)
export BDE_PASSWORD=demo-password
"$bin/bde-standin" >"$bdelog" 2>&1 &
bde=$!
# Marathon and Chronos of the cluster, stood in on loopback too.
marlog=$(mktemp)
"$bin/marathon-standin" >"$marlog" 2>&1 &
mar=$!
chrlog=$(mktemp)
"$bin/chronos-standin" >"$chrlog" 2>&1 &
chr=$!
trap 'kill "$sim" "$reg" "$bde" "$mar" "$chr" 2>/dev/null || true; wait "$sim" "$reg" "$bde" "$mar" "$chr" 2>/dev/null || true; rm -f "$log" "$reglog" "$bdelog" "$marlog" "$chrlog"' EXIT
for _ in $(seq 1 100); do
	grep -q '^GOVC_URL=' "$log" && break
	sleep 0.1
done
url=$(sed -n 's/^GOVC_URL=//p' "$log")
for _ in $(seq 1 100); do
	grep -q '^REGISTRY=' "$reglog" && break
	sleep 0.1
done
registry=$(sed -n 's/^REGISTRY=//p' "$reglog")
[ -n "$registry" ] || { echo "registry did not start:" >&2; cat "$reglog" >&2; exit 3; }
for _ in $(seq 1 100); do
	grep -q '^BDE_URL=' "$bdelog" && break
	sleep 0.1
done
bde_url=$(sed -n 's/^BDE_URL=//p' "$bdelog")
[ -n "$bde_url" ] || { echo "the BDE stand-in did not start:" >&2; cat "$bdelog" >&2; exit 3; }
export BDE_URL=$bde_url BDE_USERNAME=admin
for f in "$marlog" "$chrlog"; do
	for _ in $(seq 1 100); do
		grep -q '_URL=' "$f" && break
		sleep 0.1
	done
done
marathon_url=$(sed -n 's/^MARATHON_URL=//p' "$marlog")
chronos_url=$(sed -n 's/^CHRONOS_URL=//p' "$chrlog")
if [ -z "$marathon_url" ] || [ -z "$chronos_url" ]; then
	echo "the Marathon or Chronos stand-in did not start:" >&2
	cat "$marlog" "$chrlog" >&2
	exit 3
fi
export MARATHON_URL=$marathon_url CHRONOS_URL=$chronos_url
[ -n "$url" ] || { echo "vcsim did not start:" >&2; cat "$log" >&2; exit 3; }

# The simulator's inventory: DC0, LocalDS_0, DC0_C0/Resources, "VM Network".
export GOVC_URL=$url GOVC_INSECURE=true
export GOVC_DATACENTER=DC0 GOVC_DATASTORE=LocalDS_0
export GOVC_RESOURCE_POOL=DC0_C0/Resources GOVC_NETWORK="VM Network"
echo "== vCenter simulator at ${url%%//*}//127.0.0.1:${url##*:}, site registry at $registry, BDE stand-in at $bde_url, Marathon at $marathon_url, Chronos at $chronos_url"

echo "== bundle deploy --dry-run"
"$bin/bundle" deploy "$bundle_dir" --registry "$registry" --dry-run
echo
echo "== bundle deploy"
"$bin/bundle" deploy "$bundle_dir" --registry "$registry"
echo
echo "== bundle deploy (again: nothing to do, no write to vCenter, BDE, Marathon or Chronos)"
"$bin/bundle" deploy "$bundle_dir" --registry "$registry"
echo
echo "== bundle status (exit 0: the site matches the bundle)"
"$bin/bundle" status "$bundle_dir" --registry "$registry"
echo

echo "== govc ls /DC0/vm"
"$bin/govc" ls /DC0/vm
echo "== govc datastore.ls"
"$bin/govc" datastore.ls -R bundles >"$log.ls"
head -24 "$log.ls"
rm -f "$log.ls"
echo "== govc library.ls"
"$bin/govc" library.ls
"$bin/govc" library.ls '*/*' 2>/dev/null || true
