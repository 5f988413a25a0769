# Agent Operator developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help venv lint typecheck unit test crds examples-check bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP) ## Create or reuse .venv with the project and its test extras

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check operator tests benchmarks
	$(BIN)/ruff format --check operator tests benchmarks

typecheck: $(STAMP) ## mypy --strict on operator/
	$(BIN)/mypy --strict operator/agent_operator

unit: $(STAMP) ## Unit, property and CLI tests (no cluster)
	$(BIN)/pytest -m "not integration and not kind" tests

crds: $(STAMP) ## Regenerate crds/ (and the chart's copies) from the pydantic models
	$(BIN)/agentctl crds --output-dir crds
	@$(MAKE) --no-print-directory chart-crds

bench: $(STAMP) ## Run the benchmarks
	$(BIN)/python benchmarks/validate_bench.py

include mk/cluster.mk

test: lint typecheck $(STAMP) cluster-test-prereqs ## Everything CI runs: lint, types, unit and integration tests
	$(BIN)/pytest tests

clean: ## Remove the venv and caches (not the tool cache)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Packaging: the Helm chart's CRD copies and the plain manifests rendered from it.
.PHONY: chart-crds manifests

chart-crds: ## Copy crds/*.yaml into charts/agent-operator/crds (a test checks they are identical)
	cp crds/*.yaml charts/agent-operator/crds/

manifests: chart-crds ## Render manifests/install.yaml from the chart with default values
	hack/render-manifests.sh > manifests/install.yaml.tmp && mv manifests/install.yaml.tmp manifests/install.yaml

# Operator and rollout benchmarks on the local control plane (benchmarks/README.md).
.PHONY: bench-operator
BENCH_AGENTS ?= 100

bench-operator: $(STAMP) cluster-up ## Operator (create->Ready, writes, RSS) and rollout benchmarks
	$(BIN)/python benchmarks/operator_bench.py --agents $(BENCH_AGENTS)
	$(BIN)/python benchmarks/rollout_bench.py
