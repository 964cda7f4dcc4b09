# The verbs people type. `make up` runs Sluice locally; `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The build cache lives outside the clone so fresh clones (and CI) reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/sluice/target
LOCAL := .local
VENV := $(LOCAL)/venv
STACK_ENV := $(LOCAL)/stack.env
API_URL ?= http://127.0.0.1:8787
# The runner is built in the dev profile: the same build `make test` reuses.
RUNNER := $(CARGO_TARGET_DIR)/debug/sluice-local
# `make token AS=ana`, `make events AS=ana`: make's built-in AS (the assembler) is cleared
# so a missing AS= is noticed.
AS :=
# Every cargo/aws call below sees the local services.
WITH_ENV = set -a; . $(LOCAL)/services.env; [ -f $(STACK_ENV) ] && . $(STACK_ENV); API_URL=$(API_URL); set +a;

.PHONY: help setup tools services runner web up down logs logs-aws events status token tick tickers sections test deny lint migrate build bench bench-retrieval fuzz deploy fmt clean chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install what the local stack needs and is missing (moto and awscli in .local/venv; PostgreSQL)
	@scripts/bootstrap.sh stack

tools: ## install the build, lint and browser-test tools (cfn-lint, sam, cargo-lambda, rustfmt, clippy, cargo-deny, chromium, playwright-core, axe-core)
	@scripts/bootstrap.sh tools
	@scripts/browser.sh

services: setup ## start PostgreSQL (127.0.0.1:54329) and moto (127.0.0.1:4566)
	@scripts/services.sh start

runner: ## build the local runner (every function, dev profile: the build make test reuses)
	@cargo build -p sluice-local --bin sluice-local

web: ## build the web app (npm ci from web/package-lock.json, esbuild into web/dist; fails above its size budget)
	@scripts/web.sh

up: services runner web ## set up everything and leave the local stack running in the background (prints the web app's URL)
	@scripts/edgar-mirror.sh $(LOCAL)/edgar-mirror
	@$(WITH_ENV) $(RUNNER) provision $(STACK_ENV) >/dev/null
	@$(WITH_ENV) $(RUNNER) migrate >/dev/null
	@$(WITH_ENV) $(RUNNER) load-tickers data/sp500_constituents.csv >/dev/null
	@scripts/runner.sh start $(RUNNER) $(API_URL)
	@scripts/runner.sh summary

down: ## stop everything `make up` started
	@scripts/runner.sh stop
	@scripts/services.sh stop

logs: ## follow the logs of Sluice's functions (the runner), each line with its time
	@tail -n 50 -F $(LOCAL)/logs/runner.log

logs-aws: ## follow the AWS emulator's (moto's) access log
	@tail -n 50 -F $(LOCAL)/logs/moto.log

events: ## the latest events a user sees, one line each: make events AS=ana [TEAM=1] [N=20]
	@test -n "$(AS)" || { echo "usage: make events AS=<user> [TEAM=1] [N=20]" >&2; exit 2; }
	@test -x $(RUNNER) || $(MAKE) --no-print-directory runner
	@$(WITH_ENV) $(RUNNER) events "$(AS)" $(if $(TEAM),team) $(N)

TIER ?= demo
token: ## a bearer token for the local HTTP API: make token AS=ana [TIER=demo|basic|professional|enterprise] [TEAM=1]
	@test -n "$(AS)" || { echo "usage: make token AS=<user> [TIER=demo|basic|professional|enterprise] [TEAM=1]" >&2; exit 2; }
	@test -x $(RUNNER) || $(MAKE) --no-print-directory runner
	@$(WITH_ENV) $(RUNNER) token "$(AS)" $(TIER) $(if $(TEAM),team)

tick: ## fire a schedule now: make tick NAME=daily-quotes | weekly-fundamentals | price-backfill [YEARS=10 TICKERS="AAPL MSFT"] | monthly-credits | demo-prefill | monthly-reports
	@test -x $(RUNNER) || $(MAKE) --no-print-directory runner
	@$(WITH_ENV) $(RUNNER) tick $(NAME) $(YEARS) $(TICKERS)

tickers: ## load the S&P 500 constituents (data/sp500_constituents.csv) into `tickers`
	@test -x $(RUNNER) || $(MAKE) --no-print-directory runner
	@$(WITH_ENV) $(RUNNER) load-tickers data/sp500_constituents.csv

FORM ?=
sections: ## the sections of a filing as JSON: make sections FILE=<filing.html> [FORM=10-Q] (default: as declared)
	@test -n "$(FILE)" || { echo "usage: make sections FILE=<filing.html> [FORM=10-Q]" >&2; exit 2; }
	@cargo run -q --release -p sluice-filing-sections --bin filing-sections -- --form "$(FORM)" "$(FILE)"

status: ## what is running
	@scripts/services.sh status; scripts/runner.sh status

test: tools services web ## formatting, clippy, dependency advisories and licenses, web app build, unit, integration and browser tests, template lint
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	@scripts/deny.sh
	@$(WITH_ENV) cargo test --workspace --locked --no-fail-fast
	@$(MAKE) --no-print-directory lint

deny: tools ## dependency advisories (RustSec) and licenses: cargo deny, as deny.toml allows
	@scripts/deny.sh

lint: tools ## cfn-lint and sam validate --lint on template.yaml
	$(VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --lint --region us-east-1

migrate: services ## apply migrations/ to DATABASE_URL (the local cluster unless set)
	@$(WITH_ENV) cargo run -q -p sluice-local --bin sluice-local -- migrate

build: tools ## arm64 Lambda zips of every function (cargo lambda), with their sizes
	@scripts/build.sh

bench: services ## the benchmarks of BENCHMARKS.md
	@scripts/bench.sh

bench-retrieval: services ## only Ask Sluice's retrieval benchmark of BENCHMARKS.md
	@scripts/bench-retrieval.sh

chaos: services ## the fault figures of RELIABILITY.md (not in make test): make chaos [CHAOS_KILLS=50] [CHAOS_ONLY=...]
	@scripts/chaos.sh

FUZZ_SECONDS ?= 60
fuzz: ## fuzz the webhook, e-mail and review-export parsers: make fuzz [FUZZ_SECONDS=60] or [FUZZ_RUNS=1000000] (per target)
	@FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh $(FUZZ_SECONDS)

deploy: build ## sam build && sam deploy (guided the first time)
	$(VENV)/bin/sam build && $(VENV)/bin/sam deploy

fmt: ## format the code
	cargo fmt --all

clean: down ## stop everything and delete .local (databases, venv, logs)
	rm -rf $(LOCAL)
