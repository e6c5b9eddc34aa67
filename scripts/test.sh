#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH="$PWD/.deps/venv/bin:$PATH"
export BERTH_TEST_PYTHON="$PWD/.deps/venv/bin/python"
export BERTH_TEST_NODE_MODULES="$PWD/.deps/node/node_modules"
cargo nextest run --workspace --no-fail-fast "$@"
# Every cargo-fuzz target as a 30-second smoke test (the whole suite only, not a chosen subset).
if [ $# -eq 0 ]; then
  FUZZ_SECS=${FUZZ_SECS:-30} FUZZ_SANITIZER=${FUZZ_SANITIZER:-none} scripts/fuzz.sh
fi
