#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (a Python venv with pinned
# moto server and tools), checks formatting and lints, builds the binaries as shipped (release
# profile), then runs the Rust tests (moto servers and the Lambda Runtime API emulator are
# started and stopped by the tests themselves, on 127.0.0.1), the rule tests and the infra checks.
#
#   scripts/test.sh            everything
#   MAMORU_TEST_PROFILE=debug scripts/test.sh   test debug binaries (faster locally)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
profile=${MAMORU_TEST_PROFILE:-release}

step() { printf '\n==> %s\n' "$*"; }

step "Python venv with the test tools (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
export MOTO_SERVER="$root/.venv/bin/moto_server"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "supply chain: cargo deny check licenses bans sources"
# The advisories check needs the RustSec database from GitHub, which CI cannot reach.
if ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install cargo-deny --locked --version 0.20.2 --quiet
fi
cargo deny --log-level error check licenses bans sources

step "build the binaries ($profile)"
if [ "$profile" = release ]; then
  cargo build --workspace --bins --release
  export MAMORU_BIN_DIR="$root/target/release"
else
  cargo build --workspace --bins
  export MAMORU_BIN_DIR="$root/target/debug"
fi

step "cargo test"
cargo test --workspace

step "benchmarks compile (cargo bench --no-run; CI judges no time)"
cargo bench --no-run -p mamoru

step "rule checks and rule tests"
"$MAMORU_BIN_DIR/mamoru" rules check rules/
"$MAMORU_BIN_DIR/mamoru" rules test shared/rules rules/ docs/examples/rules/

if [ -x infra/check.sh ]; then
  step "infra checks"
  infra/check.sh "$root/.venv"
fi

step "all tests passed"
