#!/usr/bin/env bash
# Vulnerability database benchmark: import all of the shared feed snapshots (time, peak RSS,
# on-disk size), open the database, match 10,000 packages on one thread.
# Usage: bench/vulndb.sh [FEED_DIR_OR_URL...]   (default: ../shared/vulndata)
# BENCH_DETAIL=1 also prints the import's problems and the index size.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  set -- "${BERTH_VULNDATA:-$(cd .. && pwd)/shared/vulndata}"
fi
cargo build --release -q -p berth-vulndb --example bench
bin="${CARGO_TARGET_DIR:-target}/release/examples/bench"
if command -v taskset >/dev/null; then
  exec taskset -c 0 "$bin" "$@"   # one core
fi
exec "$bin" "$@"
