#!/usr/bin/env bash
# The image-risk benchmark (issue 11; not run by CI): 10,000 pods over 2,000 workloads and 500
# scanned images ingested through the snapshot endpoint, then DescribeClusterImageSecuritySummary
# (with and without filters) and ListImageRisk over real HTTP, signed as the SDKs sign, in one
# process with the server (crates/api/examples/risk_bench.rs). Prints p50/p99 per request shape
# and the resident set. Target: a summary over 10,000 containers in under 50 ms.
#
#   bench/risk.sh                          # release build
#   PODS=50000 WORKLOADS=10000 bench/risk.sh
#   PROFILE=dev RUNS=20 bench/risk.sh      # the test build's profile (slower; no release build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PROFILE:-release}" = release ]; then
  exec cargo run --quiet --release -p berth-api --example risk_bench
else
  exec cargo run --quiet -p berth-api --example risk_bench
fi
