#!/usr/bin/env bash
# Runs the fuzz targets for a bounded time each (default 60 s), seeded from the fixture events.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on the stable toolchain through
# RUSTC_BOOTSTRAP=1. Prints the executions and crashes of each target; exits non-zero on a crash.
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
export RUSTC_BOOTSTRAP=1

for target in parse_decide render; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  find tests/fixtures/events -name '*.json' -exec cp {} "$corpus/" \;
  log=fuzz/$target.log
  echo "==> $target for ${seconds}s"
  set +e
  cargo fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -print_final_stats=1 > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  crashes=$(find fuzz/artifacts/"$target" -name 'crash-*' 2>/dev/null | wc -l)
  echo "$target: ${execs:-?} executions, $crashes crashes (exit $rc)"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -40 "$log"
    exit 1
  fi
done
