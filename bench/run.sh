#!/usr/bin/env bash
# The side-by-side benchmark: mamoru's function binaries, a boto3 responder and Cloud Custodian,
# under the same Lambda Runtime API emulator and the same moto, in one run.
#
#   bench/run.sh                       everything: 20 cold runs, 1,000 warm events per subject
#   bench/run.sh --cold 5 --warm 100   a quicker look
#   bench/run.sh --subjects mamoru boto3 --families guardduty
#   bench/run.sh --no-build            use target/release as it is
#   bench/run.sh --org                 cross-account instead (bench/cross_account.py): the guardduty
#                                      function in 50 accounts x 3 regions against one account
#   bench/run.sh --org --events 300    the same, quicker (default 1,000 events per process)
#
# Needs the README's test command to have installed .venv (moto server, boto3). Installs Cloud
# Custodian (pinned, bench/requirements-c7n.txt) into bench/.venv-c7n on first use, builds the
# release binaries, then runs bench/driver.py: the table is printed and written, with every
# figure, to bench/results/ (git-ignored). Servers listen on 127.0.0.1 only, on free ports, and
# are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
org=0
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --org) org=1 ;;
    *) args+=("$a") ;;
  esac
done

if [ ! -x .venv/bin/moto_server ]; then
  echo "bench: .venv/bin/moto_server is missing: run scripts/test.sh (the README's test command) first" >&2
  exit 1
fi
if [ "$org" = 1 ]; then
  if [ "$build" = 1 ]; then
    echo "==> cargo build --release -p mamoru-lambda"
    cargo build --release -p mamoru-lambda
  fi
  exec .venv/bin/python bench/cross_account.py ${args[@]+"${args[@]}"}
fi
if [ ! -x bench/.venv-c7n/bin/python ]; then
  echo "==> Cloud Custodian venv (bench/.venv-c7n)"
  python3 -m venv bench/.venv-c7n
  bench/.venv-c7n/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-c7n.txt
fi
if [ "$build" = 1 ]; then
  echo "==> cargo build --release --bins"
  cargo build --release --bins
fi
exec .venv/bin/python bench/driver.py ${args[@]+"${args[@]}"}
