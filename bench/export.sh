#!/usr/bin/env bash
# The workload export's benchmark (issue 13; not run by CI): 10,000 deployments of 3 containers
# over 1,000 scanned images, exported whole and with selective queries, in one process with the
# server (crates/api/examples/export_bench.rs). Prints, per export: deployments streamed, first
# message latency, deployments/s and the peak resident-set growth while it ran.
#
#   bench/export.sh                       # release build
#   IMAGES=200 DEPLOYMENTS=2000 bench/export.sh
#   PROFILE=dev bench/export.sh           # the test build's profile (slower; no release build)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
if [ "$profile" = release ]; then
  exec cargo run --quiet --release -p berth-api --example export_bench
else
  exec cargo run --quiet -p berth-api --example export_bench
fi
