#!/usr/bin/env bash
# Runs the main job offline on the example site: validate, lock, plan, build,
# verify, inspect, then deploy to a vCenter simulator (and a registry) on
# loopback. `make demo` runs it after writing the stand-in inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
B=./bin/bundle
EX=examples/mesos-site
DIST=${DIST:-dist}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "bundle validate $EX"
$B validate "$EX"
step "bundle fmt -check $EX"
$B fmt -check "$EX"
step "bundle lock $EX (pins the image by digest in bundle.lock.hcl)"
$B lock "$EX"
step "bundle build --plan $EX"
$B build --plan "$EX" >"${TMPDIR:-/tmp}/bundle-plan.txt"
head -16 "${TMPDIR:-/tmp}/bundle-plan.txt"
echo "  ... (40 rendered files)"
step "bundle build $EX -o $DIST --offline"
$B build "$EX" -o "$DIST" --offline
step "bundle verify $DIST/mesos-site-2015.03.1.tar.zst"
$B verify "$DIST/mesos-site-2015.03.1.tar.zst"
step "bundle verify $DIST/mesos-site-2015.03.1 (with the deep checks: repodata, image layout, OVF manifests)"
$B verify "$DIST/mesos-site-2015.03.1"
step "bundle inspect $DIST/mesos-site-2015.03.1"
$B inspect "$DIST/mesos-site-2015.03.1"
step "bundle deploy to a vCenter simulator"
./scripts/demo-deploy.sh "$DIST/mesos-site-2015.03.1"
