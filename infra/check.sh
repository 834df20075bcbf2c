#!/usr/bin/env bash
# Offline checks of the SAM stack and of the member accounts' template (infra/member.yaml, a
# StackSet): cfn-lint (0 errors, 0 warnings), checkov (0 failed checks) and the pytest suite in
# infra/tests/ (routing on a moto EventBridge, a member account's events included, IAM permissions
# against `mamoru permissions`, the roles' permissions boundary, parliament, structure, SAM
# transform, and the stacks deployed on a moto server under each parameter combination that
# matters, the member stack in a second account). A skipped test counts as a failure: a missing
# tool fails the check.
#
#   infra/check.sh VENV [CHECKOV_VENV]
#
# VENV is a Python venv the caller has already created (scripts/test.sh passes .venv); the pinned
# tools of requirements-check.txt that are missing from it are installed. checkov pins an old
# boto3, so it runs from a venv of its own: CHECKOV_VENV, by default VENV/checkov-venv (inside
# VENV, so that it stays out of the work tree's git status), created when missing.
#
# The tests read `mamoru permissions` and `mamoru routes` from MAMORU_BIN, else
# MAMORU_BIN_DIR/mamoru, else target/debug/mamoru, which this script builds (cargo build -p
# mamoru-cli, incremental) so that it matches the sources.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 VENV [CHECKOV_VENV]" >&2
  exit 2
fi
venv=$(cd "$1" && pwd)
checkov_venv=${2:-$venv/checkov-venv}
infra=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$infra")
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

# Installs the pins of a requirements file whose packages are missing from a venv.
ensure() {
  local py=$1 reqs=$2
  local missing
  missing=$("$py" - "$reqs" <<'EOF'
import re, sys
from importlib.metadata import PackageNotFoundError, version
missing = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name = re.split(r"[\[=<>~!]", line, maxsplit=1)[0]
    try:
        version(name)
    except PackageNotFoundError:
        missing.append(line)
print(" ".join(missing))
EOF
)
  if [ -n "$missing" ]; then
    echo "installing into $(dirname "$(dirname "$py")"): $missing"
    # shellcheck disable=SC2086 # one word per requirement
    "$py" -m pip install --quiet --disable-pip-version-check $missing
  fi
}

step "tools"
[ -x "$venv/bin/python" ] || { echo "$venv is not a Python venv" >&2; exit 2; }
ensure "$venv/bin/python" "$infra/requirements-check.txt"
if [ ! -x "$checkov_venv/bin/python" ]; then
  echo "creating the checkov venv $checkov_venv"
  "$venv/bin/python" -m venv "$checkov_venv"
fi
ensure "$checkov_venv/bin/python" "$infra/requirements-checkov.txt"
"$venv/bin/python" - <<'EOF'
from importlib.metadata import version
print("  " + ", ".join(f"{p} {version(p)}" for p in ["cfn-lint", "aws-sam-translator", "moto", "boto3", "pytest", "parliament"]))
EOF
echo "  checkov $("$checkov_venv/bin/checkov" --version)"

if [ -z "${MAMORU_BIN:-}" ]; then
  if [ -n "${MAMORU_BIN_DIR:-}" ] && [ -x "$MAMORU_BIN_DIR/mamoru" ]; then
    export MAMORU_BIN="$MAMORU_BIN_DIR/mamoru"
  else
    step "cargo build -p mamoru-cli (for \`mamoru permissions\` and \`mamoru routes\`)"
    cargo build --quiet -p mamoru-cli
    export MAMORU_BIN="$root/target/debug/mamoru"
  fi
fi

# Nothing here may reach AWS: dummy credentials, no instance metadata.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE

failed=()

for template in infra/template.yaml infra/member.yaml; do
  step "cfn-lint $template"
  if "$venv/bin/cfn-lint" "$template"; then
    echo "cfn-lint: 0 errors, 0 warnings"
  else
    failed+=("cfn-lint $template")
  fi

  step "checkov --framework cloudformation $template"
  if "$checkov_venv/bin/checkov" --file "$template" --framework cloudformation \
    --skip-download --compact --quiet; then
    echo "checkov: 0 failed checks"
  else
    failed+=("checkov $template")
  fi
done

step "pytest infra/tests"
# One worker per core (pytest-xdist); each starts its own moto servers on free ports.
# MAMORU_PYTEST_WORKERS=0 runs the suite in this process.
if ! "$venv/bin/python" -m pytest infra/tests -q -p no:cacheprovider \
  -n "${MAMORU_PYTEST_WORKERS:-auto}" --durations=5; then
  failed+=(pytest)
fi

if [ ${#failed[@]} -gt 0 ]; then
  step "infra checks FAILED: ${failed[*]}"
  exit 1
fi
step "infra checks passed"
