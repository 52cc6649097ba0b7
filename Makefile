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

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: demo
demo: ## the main job end to end (arrives with the chain, indexer and dashboard issues)
	@echo "make demo is not built yet: it will start Postgres and a local wasmd chain, deploy the"
	@echo "contracts, run a seeded workload, ingest, analyze, and serve the dashboard."
	@echo "What works today: make test, make artifacts, make bench-contracts (see README.md)."
	@exit 1

.PHONY: tools
tools: ## install what the build needs: wasm target, binaryen (npm), cosmwasm-check
	rustup target add wasm32-unknown-unknown
	rustup component add rustfmt clippy
	npm ci --prefix $(TOOLS_DIR) --no-audit --no-fund
	@if cosmwasm-check --version 2>/dev/null | grep -q '3.0.10'; then echo "cosmwasm-check 3.0.10 present"; \
	else cargo install cosmwasm-check --version 3.0.10 --locked; fi

.PHONY: build
build: ## compile the workspace (native)
	cargo build --workspace --locked

.PHONY: test
test: ## run every test: unit, multi-test suite, property tests, real-VM artifact tests
	cargo test --workspace --locked

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

.PHONY: bench
bench: bench-contracts ## every benchmark the project has so far

.PHONY: ci
ci: tools lint check-schema check-artifacts test ## what .ci/run does
