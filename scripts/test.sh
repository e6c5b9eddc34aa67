#!/usr/bin/env bash
# The one test command: installs what is missing, checks what the house rules promise (format,
# lints, import cycles, the registry-only build), then runs every test of the workspace.
#
#   scripts/test.sh            # everything, as CI runs it
#   scripts/test.sh -p berth-oci   # only the tests, with these nextest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH="$PWD/.deps/venv/bin:$PATH"
export BERTH_TEST_PYTHON="$PWD/.deps/venv/bin/python"
export BERTH_TEST_NODE_MODULES="$PWD/.deps/node/node_modules"
if [ $# -eq 0 ]; then
  cargo fmt --all -- --check
  python3 scripts/module-cycles.py
fi
cargo nextest run --workspace --no-fail-fast "$@"
if [ $# -eq 0 ]; then
  cargo clippy --workspace --all-targets -- -D warnings
  # The registry-only build (no scanner, no YARA engine) must keep compiling and linting clean.
  cargo clippy -p berth --no-default-features --all-targets -- -D warnings
  # Every cargo-fuzz target as a 10-second smoke test (it catches a target that no longer builds
  # or crashes at once; the 10-minute runs are `scripts/fuzz.sh`, not CI).
  FUZZ_SECS=${FUZZ_SECS:-10} FUZZ_SANITIZER=${FUZZ_SANITIZER:-none} scripts/fuzz.sh
fi
