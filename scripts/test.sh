#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (a Python venv with pinned
# moto server and the infra tools), checks formatting and lints, builds the three Lambda
# functions once as they ship (release profile) and everything else once in the test profile,
# then runs the Rust tests (moto servers and the Lambda Runtime API emulator are started and
# stopped by the tests themselves, on 127.0.0.1), the rule tests and the infra checks.
#
#   scripts/test.sh                              everything
#   MAMORU_TEST_PROFILE=debug scripts/test.sh    test debug function binaries (no release build)
#
# Every step's wall time is printed at the end, with the slowest tests. The infra checks run
# beside the release build (whose last minutes are a fat-LTO link on one core) and the tests;
# their output is printed when they are done.
#
# The focused loops (see the README):
#   cargo test -p mamoru-core --lib              the pure core's unit tests (no moto, no binaries)
#   cargo nextest run -p mamoru-tests --test NAME    one integration test file
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
profile=${MAMORU_TEST_PROFILE:-release}

timings=()
step_name=""
step_start=0
suite_start=$(date +%s)
end_step() {
  if [ -n "$step_name" ]; then
    timings+=("$(( $(date +%s) - step_start ))|$step_name")
  fi
}
step() {
  end_step
  step_name="$*"
  step_start=$(date +%s)
  printf '\n==> %s\n' "$*"
}
report() {
  end_step
  step_name=""
  printf '\n==> step times (wall, seconds)\n'
  for t in "${timings[@]}"; do
    printf '%6s  %s\n' "${t%%|*}" "${t#*|}"
  done
  printf '%6s  %s\n' "$(( $(date +%s) - suite_start ))" "total"
}
infra_pid=""
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null || true); do
    kill_tree "$child"
  done
  kill "$1" 2>/dev/null || true
}
finish() {
  report
  # A step failed while the infra checks ran beside it: stop them and what they started.
  if [ -n "$infra_pid" ] && kill -0 "$infra_pid" 2>/dev/null; then
    kill_tree "$infra_pid"
  fi
}
trap finish EXIT

step "Python venv with the test tools (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r tests/requirements.txt -r infra/requirements-check.txt
export MOTO_SERVER="$root/.venv/bin/moto_server"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
# This also holds the pure core (mamoru-core, shared/) to reading no file (shared/clippy.toml);
# tests/tests/layout.rs holds it to no AWS SDK and no Lambda runtime.
cargo clippy --workspace --all-targets -- -D warnings

step "supply chain: cargo deny check licenses bans sources"
# The advisories check needs the RustSec database from GitHub, which CI cannot reach.
if ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install cargo-deny --locked --version 0.20.2 --quiet
fi
cargo deny --log-level error check licenses bans sources

step "build: the CLI and test binaries (test profile)"
# One build of the test profile serves the unit tests, the integration tests, the CLI the tests
# drive, and the benchmarks' compile check (criterion benches built as tests, not in release).
cargo build --workspace --bins
cargo test --workspace --all-targets --no-run --quiet
export MAMORU_BIN_DIR="$root/target/debug"

if [ -x infra/check.sh ]; then
  # Beside the release build and the tests; they need only the CLI built above.
  infra_log="$root/target/infra-check.log"
  (
    start=$(date +%s)
    status=0
    infra/check.sh "$root/.venv" >"$infra_log" 2>&1 || status=$?
    echo "$(($(date +%s) - start))" >"$infra_log.seconds"
    exit "$status"
  ) &
  infra_pid=$!
fi

if [ "$profile" = release ]; then
  step "build: the functions' binary as it ships (release profile)"
  cargo build --release -p mamoru-lambda
  export MAMORU_FUNCTION_BIN_DIR="$root/target/release"
else
  export MAMORU_FUNCTION_BIN_DIR="$root/target/debug"
fi

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  # nextest runs each test in its own process, both cores busy, and names the slow ones.
  cargo nextest run --workspace --no-fail-fast --final-status-level slow \
    --hide-progress-bar 2>&1 | tee target/nextest.log
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast
fi
# The criterion benchmarks once each, in the test profile (criterion's test mode): they build
# and run, adversarial inputs included. Their numbers come from `cargo bench`, never from here.
cargo test --workspace --benches --quiet

step "rule checks and rule tests"
"$MAMORU_BIN_DIR/mamoru" rules check rules/
"$MAMORU_BIN_DIR/mamoru" rules test shared/rules rules/ docs/examples/rules/
# The exception examples run on their own: their extra rules would change the built-in cases.
"$MAMORU_BIN_DIR/mamoru" rules test docs/examples/exceptions/

if [ -n "$infra_pid" ]; then
  step "infra checks (the rest of their time, after the steps they ran beside)"
  infra_status=0
  wait "$infra_pid" || infra_status=$?
  infra_pid=""
  cat "$infra_log"
  timings+=("$(cat "$infra_log.seconds" 2>/dev/null || echo '?')|infra checks, beside the release build and the tests")
  [ "$infra_status" -eq 0 ] || exit "$infra_status"
fi

step "all tests passed"
if [ -f target/nextest.log ]; then
  printf '\nslowest tests:\n'
  grep -E '^\s+(PASS|SLOW) \[' target/nextest.log | sed -E 's/^\s+\w+ \[ *([0-9.]+)s\]/\1/' \
    | sort -rn | head -3 || true
fi
