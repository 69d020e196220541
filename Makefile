# Mostrador task runner. The README's two commands are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT_BASE ?= 3100
TOOLS := $(CURDIR)/.tools
export SAM_CLI_TELEMETRY := 0
# cargo-lambda's venv first on PATH: it brings zig, which `sam build` needs.
SAM := PATH="$(TOOLS)/cargo-lambda/bin:$$PATH" $(TOOLS)/sam/bin/sam

.PHONY: help bootstrap dev test fmt fmt-check clippy lint unit test-sdk sam-build invoke clean-dev openapi

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

bootstrap: ## Install the pinned local tools into .tools/ (idempotent).
	@bash scripts/bootstrap.sh all

dev: bootstrap ## Start the whole stack locally (Ctrl-C stops it).
	cargo build -p mostrador-devstack --bin devstack
	./target/debug/devstack --port-base $(PORT_BASE)

test: bootstrap fmt-check clippy lint unit test-sdk ## Run every check and test (what CI runs).

openapi: ## Regenerate openapi.json and docs/api.html from the Rust types.
	cargo run -q -p mostrador --example openapi

fmt: ## Format the code.
	cargo fmt --all

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

lint: ## cfn-lint and sam validate --lint on template.yaml.
	$(TOOLS)/pytools/bin/cfn-lint template.yaml
	$(SAM) validate --lint

unit: ## Unit and black-box tests (starts its own emulators on free ports).
	cargo test --workspace

test-sdk: bootstrap ## PHP SDK tests (PHPUnit) and the offline /docs check, against a stack of their own.
	bash scripts/test-sdk.sh

sam-build: bootstrap ## Build every function for Lambda (x86_64, release profile).
	$(SAM) build

invoke: ## Invoke one function with a fixture: make invoke FN=health EVENT=events/health/get-health.json
	bash scripts/invoke.sh $(FN) $(EVENT)

reliability: bootstrap ## Long reliability suite (load, faults, hostile input, log scan, export/import); target/reliability.md.
	RELIABILITY=long cargo test -p mostrador-tests --test reliability -- --nocapture

bench: bootstrap ## Measure every function (release) and write docs/benchmarks.md.
	cargo build --release --bins $(patsubst functions/%/Cargo.toml,-p %,$(wildcard functions/*/Cargo.toml)) -p mostrador-bench --no-default-features
	cargo run -p mostrador-bench --bin bench

clean-dev: ## Forget the local stack's saved data (.dev/).
	rm -rf .dev
