#!/usr/bin/env bash
# Instructions the functions spend on start-up, on their first event and on each warm event,
# counted by callgrind while the pipeline bench drives them (moto, the counting proxy and the
# Runtime API emulator, as bench/run.sh starts them). Instruction counts do not depend on the
# machine's load, so two builds can be compared one after the other.
#
#   bench/callgrind.sh [BIN_DIR] [WARM]
#
# BIN_DIR holds the mamoru-lambda to measure (default target/release). For counts by function,
# use a build with symbols:
#   cargo rustc --release -p mamoru-lambda --bin mamoru-lambda -- -C strip=none
# and read the files it leaves with callgrind_annotate --inclusive=yes.
# WARM is the number of events per warm process (default 51).
# Needs valgrind and the test venv (.venv, made by scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$(realpath "${1:-target/release}")
warm=${2:-51}
# Each warm event is the difference between a process that handled WARM events and one that
# handled one, divided by WARM - 1.
case "$warm" in
  '' | *[!0-9]*) echo "WARM must be a number of events, 2 or more: $warm" >&2; exit 2 ;;
esac
[ "$warm" -ge 2 ] || { echo "WARM must be 2 or more: $warm" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind not found" >&2; exit 1; }
[ -x "$bin_dir/mamoru-lambda" ] || { echo "$bin_dir/mamoru-lambda not found" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/mamoru-callgrind.XXXXXX")
mkdir "$out/wrap"
# The driver stops each function with SIGKILL, which callgrind does not survive to write its
# counts: the function runs in the background of a wrapper the driver kills instead, and is
# stopped with SIGTERM at the end.
cat >"$out/wrap/mamoru-lambda" <<EOF
#!/usr/bin/env bash
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.\$\$.\$MAMORU_FUNCTION" "$bin_dir/mamoru-lambda" "\$@" 2>/dev/null &
wait
EOF
chmod +x "$out/wrap/mamoru-lambda"
if ! MAMORU_BENCH_BIN_DIR="$out/wrap" .venv/bin/python bench/driver.py --subjects mamoru --cold 1 \
  --warm "$warm" --replay 5 --concurrency 0 --out "$out" >"$out/driver.log" 2>&1; then
  cat "$out/driver.log" >&2
  exit 1
fi
pkill -TERM -f "callgrind-out-file=$out/" || true
for _ in $(seq 50); do
  pgrep -f "callgrind-out-file=$out/" >/dev/null || break
  sleep 0.2
done
# A process that handled one event (the cold run) against those that handled WARM each.
for family in guardduty cloudtrail; do
  totals=$(for f in "$out"/callgrind.*."$family"; do
    callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  done | sort -n)
  [ -n "$totals" ] || continue
  cold=$(echo "$totals" | head -1)
  hot=$(echo "$totals" | tail -1)
  printf '%-10s start-up and first event %12d instructions; each warm event %10d (of %d)\n' \
    "$family" "$cold" $(( (hot - cold) / (warm - 1) )) "$warm"
done
echo "callgrind files: $out"
