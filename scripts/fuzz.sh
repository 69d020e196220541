#!/usr/bin/env bash
# Fuzzes every public operation of openapi.json with schemathesis (pinned in bootstrap.sh)
# against a fresh local stack on free ports, as a real project:
#   every check, every phase (examples, coverage, fuzzing, stateful); tests/fuzz/schemathesis.toml
#   narrows checks on named operations only, each with its reason.
# FUZZ_MAX_EXAMPLES=N (default 10) sets examples per operation. Loopback only: the fuzzed
# project may hold no webhook endpoint, so nothing is delivered off the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh >/dev/null
exec cargo test -p mostrador-tests --test blackbox openapi::fuzz_with_schemathesis -- --nocapture
