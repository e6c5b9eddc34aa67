#!/usr/bin/env bash
# Runs every cargo-fuzz target of the workspace for FUZZ_SECS seconds each (default 600), one at a
# time, and prints each target's runs, corpus size and outcome. A crash fails the script and leaves
# its input under crates/<crate>/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                 # 10 minutes per target (the hardening bar; not in CI)
#   FUZZ_SECS=30 scripts/fuzz.sh    # the smoke run CI does
#   scripts/fuzz.sh oci/names       # one target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The toolchain here is stable: cargo-fuzz's
# sanitizer flags are unstable, so RUSTC_BOOTSTRAP=1 lets stable accept them. Builds share
# FUZZ_TARGET_DIR (default $CARGO_TARGET_DIR/fuzz, else target/fuzz) so common dependencies
# compile once (and cargo runs one build at a time there).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${FUZZ_SECS:-600}
# AddressSanitizer by default; FUZZ_SANITIZER=none builds faster (CI's smoke run: the Rust code
# is memory-safe, the sanitizer matters for the C in bundled SQLite).
SANITIZER=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/fuzz}

if ! command -v cargo-fuzz >/dev/null; then
  cargo install --locked cargo-fuzz
fi

targets=()
if [ $# -gt 0 ]; then
  targets=("$@")
else
  for dir in crates/*/fuzz; do
    crate=$(basename "$(dirname "$dir")")
    for t in $(sed -n 's/^name = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | grep -v -- '-fuzz$'); do
      targets+=("$crate/$t")
    done
  done
fi

failed=0
printf '%-22s %10s %8s %s\n' target runs corpus result
for ct in "${targets[@]}"; do
  crate=${ct%%/*}
  target=${ct#*/}
  dir="$ROOT/crates/$crate/fuzz"
  corpus="$dir/corpus/$target"
  mkdir -p "$corpus"
  log=$(mktemp)
  (cd "$dir" && cargo fuzz build -O -s "$SANITIZER" "$target" >"$log" 2>&1) || {
    echo "build of $ct failed:"; tail -30 "$log"; exit 1;
  }
  # -rss_limit_mb: a parser that balloons on small input is a finding too.
  if (cd "$dir" && cargo fuzz run -O -s "$SANITIZER" "$target" "$corpus" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1); then
    result=ok
  else
    result=FAILED
    failed=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  printf '%-22s %10s %8s %s\n' "$ct" "${runs:-?}" "$size" "$result"
  if [ $result = FAILED ]; then
    grep -E "ERROR|panicked|SUMMARY|Test unit written" "$log" | head -20
  fi
  rm -f "$log"
done
exit $failed
