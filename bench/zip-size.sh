#!/usr/bin/env bash
# Size of the arm64 Lambda bootstrap zips, per release-profile variant.
#
#   bench/zip-size.sh                      the profile as it is in Cargo.toml
#   bench/zip-size.sh no-lto opt3          variants (below)
#
# The four functions deploy the one binary, mamoru-lambda: one zip serves them all.
#
# Each variant is a full arm64 release build (several minutes on 2 cores): it overrides the
# release profile through CARGO_PROFILE_RELEASE_* and builds into its own target directory
# (target/zip-<variant>), so variants never invalidate each other or the x86 build.
# Needs cargo-lambda (pip install cargo-lambda, which brings Zig) on PATH and
# `rustup target add aarch64-unknown-linux-gnu`. Set CARGO_LAMBDA_VENV to a venv holding
# cargo-lambda to have its bin/ put first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CARGO_LAMBDA_VENV:-}" ]; then
  export PATH="$CARGO_LAMBDA_VENV/bin:$PATH"
fi
command -v cargo-lambda >/dev/null || { echo "cargo-lambda not found: pip install cargo-lambda" >&2; exit 1; }

variant_env() {
  case "$1" in
    current) ;;                                                   # Cargo.toml as it is
    no-lto) echo CARGO_PROFILE_RELEASE_LTO=false ;;
    thin-lto) echo CARGO_PROFILE_RELEASE_LTO=thin ;;
    opt3) echo CARGO_PROFILE_RELEASE_OPT_LEVEL=3 ;;
    optz) echo CARGO_PROFILE_RELEASE_OPT_LEVEL=z ;;
    cgu16) echo CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 ;;
    no-strip) echo CARGO_PROFILE_RELEASE_STRIP=false ;;
    unwind) echo CARGO_PROFILE_RELEASE_PANIC=unwind ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(current)
mkdir -p bench/results
for v in "${variants[@]}"; do
  env_set=$(variant_env "$v")
  bins=(--bin mamoru-lambda)
  dir="target/zip-$v"
  start=$(date +%s)
  # shellcheck disable=SC2086
  env $env_set CARGO_TARGET_DIR="$dir" cargo lambda build --release --arm64 --output-format zip "${bins[@]}" \
    >"bench/results/zip-$v.log" 2>&1 || { echo "$v: build failed, see bench/results/zip-$v.log" >&2; exit 1; }
  secs=$(( $(date +%s) - start ))
  for zip in "$dir"/lambda/mamoru-*/bootstrap.zip; do
    fn=$(basename "$(dirname "$zip")")
    raw=$(unzip -l "$zip" | awk '$4 == "bootstrap" {print $1}')
    printf '%-10s %-18s zip %9d bytes (%.2f MiB)  bootstrap %9d bytes  [%s, %ss]\n' \
      "$v" "$fn" "$(stat -c %s "$zip")" "$(echo "$(stat -c %s "$zip") / 1048576" | bc -l)" "$raw" "${env_set:-Cargo.toml}" "$secs" \
      | tee -a bench/results/zip-sizes.txt
  done
done
