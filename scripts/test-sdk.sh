#!/usr/bin/env bash
# The PHP SDK's tests (sdks/php, PHPUnit from Debian) against a local stack of their own, and the
# offline /docs check (scripts/check-docs.sh, headless Chromium), as `make test-sdk` runs them.
#
# The stack runs on the first free port base from SDK_PORT_BASE (default 3400; B..B+5) with a
# throwaway --root, so a developer's `make dev` (ports 3100+, data in .dev/) is left alone. It is
# always stopped on exit. Prerequisites (scripts/bootstrap.sh installs them): php-cli, phpunit,
# php-curl, php-mbstring, php-xml, php-guzzlehttp-guzzle, chromium, and .tools/pytools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)

for tool in php phpunit curl python3; do
  command -v "$tool" >/dev/null || { echo "test-sdk: $tool not found: run scripts/bootstrap.sh" >&2; exit 1; }
done
python="$root/.tools/pytools/bin/python"
[ -x "$python" ] || { echo "test-sdk: $python missing: run scripts/bootstrap.sh" >&2; exit 1; }

cargo build --quiet -p mostrador-devstack --bin devstack
echo "test-sdk: devstack built in $(( $(date +%s) - started )) s"
started=$(date +%s)

base=$(python3 - "${SDK_PORT_BASE:-3400}" <<'PY'
import socket, sys
start = int(sys.argv[1])
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
for base in range(start, start + 400, 10):
    if all(free(base + i) for i in range(6)):
        print(base)
        break
else:
    sys.exit("no free port base")
PY
)

# A throwaway root: template.yaml and .tools/ from the repository, .dev/ (data, keys) of its own.
stack_root=$(mktemp -d "${TMPDIR:-/tmp}/mostrador-sdk.XXXXXX")
ln -s "$root/template.yaml" "$stack_root/template.yaml"
ln -s "$root/.tools" "$stack_root/.tools"
stack_pid=

stop_stack() {
  local status=$?
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  # Emulators this run started, found by the unique root in their command line (a stack that
  # failed while starting can leave them behind).
  for proc in /proc/[0-9]*; do
    if { tr '\0' ' ' <"$proc/cmdline"; } 2>/dev/null | grep -qF -- "$stack_root/"; then
      kill -TERM "${proc#/proc/}" 2>/dev/null || true
    fi
  done
  if [ "$status" != 0 ] && [ -f "$stack_root/devstack.log" ]; then
    echo "test-sdk: last lines of the stack's output:" >&2
    grep -v '^{' "$stack_root/devstack.log" | tail -n 20 >&2 || true
  fi
  rm -rf "$stack_root"
  exit "$status"
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

./target/debug/devstack --port-base "$base" --root "$stack_root" >"$stack_root/devstack.log" 2>&1 </dev/null &
stack_pid=$!

api="http://127.0.0.1:$base"
for _ in $(seq 1 600); do
  [ -s "$stack_root/.dev/demo.json" ] && curl -fsS -o /dev/null "$api/health" 2>/dev/null && break
  kill -0 "$stack_pid" 2>/dev/null || { echo "test-sdk: the stack stopped while starting" >&2; exit 1; }
  sleep 0.2
done
[ -s "$stack_root/.dev/demo.json" ] || { echo "test-sdk: the stack did not come up in 120 s" >&2; exit 1; }
echo "test-sdk: stack up on port base $base in $(( $(date +%s) - started )) s"

export MOSTRADOR_API_URL="$api"
MOSTRADOR_API_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$stack_root/.dev/demo.json")
MOSTRADOR_OPERATOR_TOKEN=$(cat "$stack_root/.dev/operator-token")
export MOSTRADOR_API_KEY MOSTRADOR_OPERATOR_TOKEN
export MOSTRADOR_MERCADOPAGO_URL="http://127.0.0.1:$((base + 3))"
export MOSTRADOR_RECEIVER_URL="http://127.0.0.1:$((base + 5))"
export MOSTRADOR_PYTHON="$python"
# Fresh vectors from the reference Standard Webhooks library on every run.
export MOSTRADOR_WEBHOOK_VECTORS="$stack_root/standardwebhooks-vectors.json"
"$python" sdks/php/tests/fixtures/make-vectors.py >"$MOSTRADOR_WEBHOOK_VECTORS"

scripts/check-docs.sh "$api"

mkdir -p target
(cd sdks/php && phpunit --log-junit "$root/target/sdk-phpunit.xml")
echo "test-sdk: done in $(( $(date +%s) - started )) s"
