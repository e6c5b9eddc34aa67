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
# Snapshot tests (insta): a missing or changed snapshot fails and nothing is written, whatever
# the environment says (INSTA_UPDATE=always or INSTA_FORCE_PASS=1 would let any output pass).
# To accept a reviewed change, run that test alone with INSTA_UPDATE=always.
export INSTA_UPDATE=no INSTA_FORCE_PASS=0
# Snapshot files are found from the workspace root (without it insta asks `cargo metadata`).
export INSTA_WORKSPACE_ROOT="$PWD"
# Both test servers stop when this script ends, however it ends: nothing outlives a test run.
trap 'scripts/services/s3.sh stop; scripts/services/postgres.sh stop' EXIT
# The PostgreSQL metadata store's conformance tests run against a private cluster.
BERTH_TEST_POSTGRES_URL="$(scripts/services/postgres.sh)"; export BERTH_TEST_POSTGRES_URL
# The S3-compatible server the S3 blob store's tests run against (moto on loopback).
scripts/services/s3.sh
export BERTH_TEST_S3_URL=s3://berth-test AWS_ENDPOINT_URL=http://127.0.0.1:${BERTH_TEST_S3_PORT:-29000}
export AWS_ACCESS_KEY_ID=berth-test AWS_SECRET_ACCESS_KEY=berth-test-secret AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
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
