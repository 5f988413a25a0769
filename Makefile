# Agent Operator developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Every install comes from uv.lock (hashes for every file). uv itself is bootstrapped with pip from the
# hash-pinned tools/uv/requirements.txt into .uv/, so nothing floats. uv over pip-tools: one lock for
# runtime, test and dev tools across Python versions, checked offline, and a bundled build backend.
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: help venv lint lock-check lock typecheck unit test test-latest crds examples-check bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-16s %s\n", $$1, $$2}'

$(UV): tools/uv/requirements.txt
	@test -x $(UV_HOME)/bin/python || $(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
	  -r tools/uv/requirements.txt
	@touch $@

$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON)
	@touch $@

venv: $(STAMP) ## Create or update .venv from uv.lock: the project and its test extras, exactly

lock-check: $(UV) ## Fail when pyproject.toml and uv.lock disagree (offline)
	$(UV) lock --check --offline --python $(PYTHON)

lock: $(UV) ## Re-resolve uv.lock after editing pyproject.toml (UPGRADE=1: newest allowed versions)
	$(UV) lock --python $(PYTHON) $(if $(filter 1 true yes,$(UPGRADE)),--upgrade)
	$(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header \
	  tools/uv/requirements.in -o tools/uv/requirements.txt

# The newest versions pyproject.toml allows, in a venv of its own, against the unit tests: a break that
# the next `make lock UPGRADE=1` would bring shows up here first. Not part of `make test`.
LATEST_VENV := .venv-latest
test-latest: $(UV) ## Unit tests against the newest allowed dependency versions (not the lock)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(LATEST_VENV)
	$(UV) pip install --python $(LATEST_VENV)/bin/python --upgrade --refresh -e '.[test]'
	$(LATEST_VENV)/bin/pytest -m "not integration and not kind" -p no:cacheprovider tests

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

test: lock-check lint typecheck $(STAMP) cluster-test-prereqs ## Everything CI runs: lint, types, unit and integration tests
	$(BIN)/pytest tests

clean: ## Remove the venv and caches (not the tool cache)
	rm -rf $(VENV) $(UV_HOME) $(LATEST_VENV) .mypy_cache .ruff_cache .pytest_cache

# Packaging: the Helm chart's CRD copies and the plain manifests rendered from it.
.PHONY: chart-crds manifests

chart-crds: ## Copy crds/*.yaml into charts/agent-operator/crds (a test checks they are identical)
	cp crds/*.yaml charts/agent-operator/crds/

manifests: chart-crds ## Render manifests/install.yaml from the chart with default values
	hack/render-manifests.sh > manifests/install.yaml.tmp && mv manifests/install.yaml.tmp manifests/install.yaml

# Operator and rollout benchmarks on the local control plane (benchmarks/README.md).
.PHONY: bench-operator bench-fleet
BENCH_AGENTS ?= 100
FLEET_AGENTS ?= 100
FLEET_ARGS ?=

bench-operator: $(STAMP) cluster-up ## Operator (create->Ready, writes, RSS), rollout and analysis-rollback benchmarks
	$(BIN)/python benchmarks/operator_bench.py --agents $(BENCH_AGENTS)
	$(BIN)/python benchmarks/rollout_bench.py
	$(BIN)/python benchmarks/analysis_rollback_bench.py

# One run: floor, N agents to Ready, writes, idle requests, RSS soak, start-up (issue 14). N x 2 pods
# must fit the KWOK nodes: e.g. `KWOK_NODES=20 FLEET_AGENTS=1000 make bench-fleet`.
bench-fleet: $(STAMP) cluster-up ## Fleet benchmark at FLEET_AGENTS=N (default 100; FLEET_ARGS="--soak 3600")
	$(BIN)/python benchmarks/fleet_bench.py --agents $(FLEET_AGENTS) $(FLEET_ARGS)
