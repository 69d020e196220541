#!/usr/bin/env bash
# Invokes one function binary, built and run by `cargo lambda watch` exactly as Lambda runs it,
# with one event fixture, against the running local stack (start it first with `make dev`).
# usage: scripts/invoke.sh <function> <event-file>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fn=${1:?usage: scripts/invoke.sh <function> <event-file>}
event=${2:?usage: scripts/invoke.sh <function> <event-file>}
[ -f "$root/.dev/env" ] || { echo "no .dev/env: start the local stack first (make dev)" >&2; exit 1; }
# shellcheck disable=SC1091
source "$root/.dev/env"
export PATH="$root/.tools/cargo-lambda/bin:$PATH"
port=${INVOKE_PORT:-9010}
cd "$root"
cargo lambda watch -A 127.0.0.1 -P "$port" -p "$fn" >"$root/.dev/logs/watch-$fn.log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  if cargo lambda invoke -A 127.0.0.1 -P "$port" "$fn" --data-file "$event" 2>/dev/null; then
    echo
    exit 0
  fi
  sleep 1
done
echo "the function did not answer; see .dev/logs/watch-$fn.log" >&2
exit 1
