#!/usr/bin/env bash
# Fuzzes every public operation of openapi.json with schemathesis (pinned in bootstrap.sh)
# against a fresh local stack on free ports, as a real project:
#   checks: not_a_server_error, response_schema_conformance, content_type_conformance.
# FUZZ_MAX_EXAMPLES=N (default 10) sets examples per operation. Loopback only: the fuzzed
# project may hold no webhook endpoint, so nothing is delivered off the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh >/dev/null
exec cargo test -p mostrador-tests --test blackbox openapi::fuzz_with_schemathesis -- --nocapture
