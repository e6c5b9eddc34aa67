#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH="$PWD/.deps/venv/bin:$PATH"
export BERTH_TEST_PYTHON="$PWD/.deps/venv/bin/python"
export BERTH_TEST_NODE_MODULES="$PWD/.deps/node/node_modules"
cargo nextest run --workspace --no-fail-fast "$@"
