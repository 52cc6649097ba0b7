# datapact — every workflow a user runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CONTRACTS := registry consent agreements audit
TOOLS_DIR := contracts/tools
WASM_OPT := $(TOOLS_DIR)/node_modules/.bin/wasm-opt
WASM_OPT_FLAGS := -Os --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
	--enable-nontrapping-float-to-int --llvm-memory-copy-fill-lowering
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BUILD := build
# the native binaries (debug profile: they share the test build; dependencies are optimized)
, := ,
DATAPACT := $(TARGET_DIR)/debug/datapact
DATAPACT_SIM := $(TARGET_DIR)/debug/datapact-sim
DATA := $(or $(DATAPACT_DATA),.data)
SIMULATE_ARGS ?= --seed 7 --rounds 20

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: demo
demo: deps localnet deploy ## the main job end to end: chain, contracts, workload, ingest, analytics, sentinel, data plane, dashboard
	DATAPACT=$(DATAPACT) DATAPACT_SIM=$(DATAPACT_SIM) DATA=$(DATA) SIMULATE_ARGS="$(SIMULATE_ARGS)" bash indexer/datapact/scripts/demo.sh start

.PHONY: demo-stop
demo-stop: bin ## stop everything the demo started (gateway, dashboard, sentinel, analysis and ingest followers, chain, Postgres); data stays
	-DATAPACT=$(DATAPACT) DATAPACT_SIM=$(DATAPACT_SIM) DATA=$(DATA) bash indexer/datapact/scripts/demo.sh stop
	-$(DATAPACT) localnet stop
	-$(DATAPACT) postgres stop

# Debian packages, installed when missing (the package lists are refreshed if the install fails)
APT := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
apt = $(APT) $(1) >/dev/null || { apt-get update -qq && $(APT) $(1) >/dev/null; }

.PHONY: deps
deps: ## install what running datapact needs when missing: Go and a C compiler (wasmd), the Postgres server
	@command -v go >/dev/null || $(call apt,golang-go)
	@command -v cc >/dev/null || $(call apt,build-essential)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "installing the Postgres server"; $(call apt,postgresql); }

.PHONY: test-deps
test-deps: deps ## and what the tests add: Chromium and its WebDriver for the dashboard tests
	@command -v chromedriver >/dev/null || { echo "installing chromium and chromium-driver"; $(call apt,chromium chromium-driver); }

.PHONY: tools
tools: ## install what the build needs: wasm target, binaryen (npm), cosmwasm-check, Go and a C compiler
	rustup target add wasm32-unknown-unknown
	rustup component add rustfmt clippy
	@command -v go >/dev/null || { echo "installing Go (Debian's golang; the wasmd build pins its own toolchain)"; \
		apt-get install -y golang-go || { echo "install Go >= 1.21 and re-run"; exit 1; }; }
	@command -v cc >/dev/null || apt-get install -y build-essential
	npm ci --prefix $(TOOLS_DIR) --no-audit --no-fund
	@if cosmwasm-check --version 2>/dev/null | grep -q '3.0.10'; then echo "cosmwasm-check 3.0.10 present"; \
	else cargo install cosmwasm-check --version 3.0.10 --locked; fi

.PHONY: build
build: ## compile the workspace (native)
	cargo build --workspace --locked

# every cargo command builds the whole workspace with the same features as `make test`, so the
# binaries and the tests share one build of polars, wasmer and the rest
.PHONY: bin
bin: ## build the datapact and datapact-sim binaries (the workspace, as the tests build it)
	cargo build --locked --workspace --bins

.PHONY: wasmd
wasmd: ## build wasmd v0.61.14 from its Go module into ~/.cache/datapact (skipped when present)
	@bash $(TOOLS_DIR)/build-wasmd.sh >/dev/null

.PHONY: test
test: test-deps wasmd bin ## every test: unit, multi-test, properties, real-VM artifacts, end to end (wasmd, Postgres, Chromium)
	@rm -f $(BUILD)/property-outcomes.txt
	cargo test --workspace --locked
	@cat $(BUILD)/property-outcomes.txt

.PHONY: test-chain-stop
test-chain-stop: bin ## stop the chain the end-to-end tests start (.data/e2e, RPC 36657)
	@DATAPACT_DATA=.data/e2e DATAPACT_RPC_PORT=$(or $(E2E_RPC_PORT),36657) $(DATAPACT) localnet stop

.PHONY: test-stop
test-stop: test-chain-stop ## stop the chain and the Postgres clusters the tests and the evaluation start
	@DATAPACT_DATA=.data/e2e DATAPACT_PG_PORT=$(or $(E2E_PG_PORT),55433) $(DATAPACT) postgres stop
	@$(DATAPACT) postgres stop

.PHONY: prune-target
prune-target: ## delete this workspace's stale build outputs and incremental caches from the target dir (dependencies stay; CI runs it)
	.ci/prune-target $(TARGET_DIR)

.PHONY: localnet
localnet: wasmd bin ## start the local chain in the background (127.0.0.1:26657, blocks every 300 ms)
	$(DATAPACT) localnet start

.PHONY: localnet-stop
localnet-stop: bin ## stop the local chain (its data stays)
	$(DATAPACT) localnet stop

.PHONY: localnet-reset
localnet-reset: bin ## stop the local chain and delete its data and deployment file
	$(DATAPACT) localnet reset
	rm -f $(DATA)/deployment.json $(DATA)/labels.jsonl

.PHONY: accounts
accounts: bin ## list the local chain's funded test accounts
	$(DATAPACT) localnet accounts

.PHONY: deploy
deploy: bin ## store, instantiate and wire the artifacts; writes .data/deployment.json (idempotent)
	$(DATAPACT) deploy

.PHONY: postgres
postgres: deps bin ## start the private Postgres cluster (.data/postgres, 127.0.0.1:55432); prints its URL
	$(DATAPACT) postgres start

.PHONY: ingest
ingest: bin ## index the chain into Postgres (backfill; INGEST_ARGS=--follow to keep following)
	$(DATAPACT) ingest $(INGEST_ARGS)

.PHONY: analyze
analyze: bin ## provenance scores and anomaly reports of the windows closed since the last run; report in .data/reports/run-N/ (ANALYZE_ARGS=--follow to keep scoring)
	$(DATAPACT) analyze $(ANALYZE_ARGS)

.PHONY: sentinel
sentinel: bin ## report anomalies of medium severity and above to the audit contract (SENTINEL_ARGS="--dry-run --once")
	$(DATAPACT) sentinel $(SENTINEL_ARGS)

.PHONY: gateway
gateway: bin ## the data gateway on http://127.0.0.1:8090/ (store .data/store, metrics :9192; GATEWAY_ARGS=...)
	$(DATAPACT) gateway $(GATEWAY_ARGS)

.PHONY: serve
serve: bin ## the dashboard on http://127.0.0.1:8080/
	$(DATAPACT) serve $(SERVE_ARGS)

.PHONY: simulate
simulate: bin ## seeded workload with injected misbehaviour; labels in .data/labels.jsonl (SIMULATE_ARGS=...)
	$(DATAPACT_SIM) simulate $(SIMULATE_ARGS)

.PHONY: lint
lint: ## rustfmt and clippy (native and wasm), warnings are errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy --release --lib --locked --target wasm32-unknown-unknown \
		$(foreach c,$(CONTRACTS),-p datapact-$(c)) -- -D warnings

.PHONY: artifacts
artifacts: ## build artifacts/*.wasm and artifacts/checksums.txt (reproducible, optimized, checked)
	bash $(TOOLS_DIR)/optimize.sh

.PHONY: check-artifacts
check-artifacts: ## rebuild the artifacts elsewhere and fail if the committed checksums differ
	rm -rf $(BUILD)/artifacts-check
	ARTIFACTS_DIR=$(CURDIR)/$(BUILD)/artifacts-check bash $(TOOLS_DIR)/optimize.sh
	diff -u artifacts/checksums.txt $(BUILD)/artifacts-check/checksums.txt \
		|| { echo "committed artifacts are stale or not reproducible: run 'make artifacts' and commit"; exit 1; }

.PHONY: schema
schema: ## write schema/<contract>/ from the contracts' messages (cosmwasm-schema)
	@for c in $(CONTRACTS); do \
		rm -rf $(BUILD)/schema/$$c && mkdir -p $(BUILD)/schema/$$c && \
		(cd $(BUILD)/schema/$$c && cargo run -q --locked -p datapact-$$c --bin schema-$$c >/dev/null) && \
		rm -rf schema/$$c && mkdir -p schema && mv $(BUILD)/schema/$$c/schema schema/$$c || exit 1; \
	done
	@echo "schema/ written"

.PHONY: check-schema
check-schema: ## fail if schema/ is stale
	@for c in $(CONTRACTS); do \
		rm -rf $(BUILD)/schema/$$c && mkdir -p $(BUILD)/schema/$$c && \
		(cd $(BUILD)/schema/$$c && cargo run -q --locked -p datapact-$$c --bin schema-$$c >/dev/null) && \
		diff -r schema/$$c $(BUILD)/schema/$$c/schema || { echo "schema/$$c is stale: run 'make schema'"; exit 1; }; \
	done
	@echo "schema/ is current"

.PHONY: docs
docs: ## render docs/events.md from the event catalogue
	cargo run -q --locked -p datapact-types --example events_md > docs/events.md

.PHONY: yardstick
yardstick: ## build cw20-base from crates.io the same way as the artifacts (gas yardstick)
	cd contracts/yardstick && RUSTFLAGS="-C link-arg=-s" CARGO_TARGET_DIR=$(TARGET_DIR)/yardstick-build \
		cargo build --release --lib --locked --target wasm32-unknown-unknown -p cw20-base
	mkdir -p $(TARGET_DIR)/yardstick
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(TARGET_DIR)/yardstick-build/wasm32-unknown-unknown/release/cw20_base.wasm \
		-o $(TARGET_DIR)/yardstick/cw20_base.wasm

.PHONY: bench-contracts
bench-contracts: yardstick ## artifact sizes and VM gas per message, against cw20-base transfer
	YARDSTICK_WASM=$(TARGET_DIR)/yardstick/cw20_base.wasm cargo run -q --locked -p datapact-vm --bin bench-contracts

# benchmarks of the native side run an optimized build (profile "native")
NATIVE := $(TARGET_DIR)/native
CACHE := $(or $(DATAPACT_CACHE),$(HOME)/.cache/datapact)
PEER_VENV := $(CACHE)/peer-venv

.PHONY: native
native: ## build the optimized native binaries the benchmarks run
	cargo build --locked --profile native --workspace --bins

# the evaluation's histories: development seeds (tuned on) and held-out ones, apart
EVAL_SEEDS = --seeds $(or $(SEEDS),1$(,)2$(,)3) --held-out-seeds $(or $(HELD_OUT_SEEDS),11$(,)12$(,)13)

.PHONY: eval
eval: bin ## labelled evaluation of the anomaly scores per kind: PR-AUC, recall at 5% FPR, P/R/F1, and P/R and false alerts where the sentinel acts, per generator variant; development seeds 1-3 with the training variants, held-out 11-13 with the held-out ones
	$(DATAPACT_SIM) eval $(EVAL_SEEDS)

.PHONY: eval-bound
eval-bound: bin peer ## what any detector could reach on volume attacks and purpose hopping: the eval's windows scored by oracles that know every rate and attack form (indexer/sim/scripts/eval_bound.py), beside the detector
	$(DATAPACT_SIM) eval $(EVAL_SEEDS) --units $(DATA)/eval-units > $(DATA)/eval-units.txt
	$(PEER_VENV)/bin/python indexer/sim/scripts/eval_bound.py $(DATA)/eval-units

.PHONY: eval-forecast
eval-forecast: bin ## the forecasts back-tested on held-out synthetic histories: MASE vs naive baselines, interval coverage, alert-risk Brier and calibration
	$(DATAPACT_SIM) eval-forecast $(EVAL_FORECAST_ARGS)

.PHONY: peer
peer: ## install the pandas + scikit-learn peer pipeline (pinned; a venv in ~/.cache/datapact)
	@test -x $(PEER_VENV)/bin/python || python3 -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install -q -r indexer/sim/peer/requirements.txt

.PHONY: bench-analytics
bench-analytics: native peer ## datapact's analytics against pandas + scikit-learn on the same data: time, memory, quality
	$(NATIVE)/bench-analytics $(BENCH_ANALYTICS_ARGS)

.PHONY: bench-scale
bench-scale: native ## 10 million accesses: read from Postgres, analyze, write back; time and peak memory
	$(NATIVE)/bench-analytics --scale $(BENCH_SCALE_ARGS)

.PHONY: bench-forecast
bench-forecast: native peer ## forecasts at ~10M accesses: their share of the run, and against statsmodels on the same series (time, MASE)
	$(NATIVE)/bench-analytics --forecast $(BENCH_FORECAST_ARGS)

.PHONY: bench-dashboard
bench-dashboard: native ## dashboard latency per page on the bench-scale database (~10M accesses), against a sequential scan
	@$(NATIVE)/datapact postgres start >/dev/null
	DATAPACT=$(NATIVE)/datapact DATABASE_URL=$(or $(BENCH_DASHBOARD_URL),postgres://datapact_reader@127.0.0.1:$(or $(DATAPACT_PG_PORT),55432)/bench_scale) \
		bash indexer/sim/scripts/bench-dashboard.sh

.PHONY: bench-ingest
bench-ingest: localnet native ## ingest write path vs raw COPY, backfill vs fetch-only, follow lag (needs deploy + simulate)
	@test -f $(DATA)/deployment.json || $(DATAPACT) deploy
	@test -f $(DATA)/labels.jsonl || $(DATAPACT_SIM) simulate $(SIMULATE_ARGS)
	$(NATIVE)/bench-ingest

.PHONY: bench-loop
bench-loop: localnet native ## seconds from a burst's last transaction to the consumer's suspension, with ingest, analyze --follow and the sentinel running: p50/p95
	@test -f $(DATA)/deployment.json || $(DATAPACT) deploy
	$(NATIVE)/bench-loop

.PHONY: bench-gateway
bench-gateway: localnet native ## the gateway vs the same ciphertext served without checks: 1 GiB throughput, peak memory, check latency p50/p95
	@test -f $(DATA)/deployment.json || $(DATAPACT) deploy
	$(NATIVE)/bench-gateway $(BENCH_GATEWAY_ARGS)

QUALITY_VENV := $(CACHE)/quality-peer-venv

.PHONY: quality-peer
quality-peer: ## install the pandas peer of bench-quality (pinned; a venv in ~/.cache/datapact)
	@test -x $(QUALITY_VENV)/bin/python || python3 -m venv $(QUALITY_VENV)
	$(QUALITY_VENV)/bin/pip install -q -r indexer/quality/peer/requirements.txt

.PHONY: bench-quality
bench-quality: native quality-peer ## profiling a 1 GiB CSV against polars alone and a pandas peer: time, memory
	QUALITY_PEER_PYTHON=$(QUALITY_VENV)/bin/python $(NATIVE)/bench-quality $(BENCH_QUALITY_ARGS)

.PHONY: bench-public
bench-public: native peer ## the detector on ODDS-style tables (WBC, wine, digits 0-9, from scikit-learn's bundled data; 3 seeds; tuning and held-out tables) vs IsolationForest
	PEER_PYTHON=$(PEER_VENV)/bin/python $(NATIVE)/bench-public $(BENCH_PUBLIC_ARGS)

.PHONY: bench
bench: bench-contracts bench-ingest bench-loop bench-gateway bench-quality bench-analytics bench-scale bench-forecast bench-dashboard bench-public ## every benchmark

.PHONY: ci
ci: tools lint check-schema check-artifacts test eval bench-contracts ## what .ci/run does
