#!/usr/bin/env bash
# Runs the main job offline on the example site: validate, plan, build.
set -euo pipefail
cd "$(dirname "$0")/.."
B=./bin/bundle
EX=examples/mesos-site
echo "== bundle validate $EX"
$B validate "$EX"
echo "== bundle fmt -check $EX"
$B fmt -check "$EX"
echo "== bundle build --plan $EX"
$B build --plan "$EX"
