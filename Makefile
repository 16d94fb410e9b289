# Every task a user runs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9

# The environment's tools come first (DVC stages call `python`). run.py turns ZenML's
# analytics off itself; this covers DVC's for every dvc call made here.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.DEFAULT_GOAL := help
.PHONY: help install data run repro test test-fast bench profile lint format clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || { $(BIN)/python -m ensurepip --upgrade >/dev/null && \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	$(BIN)/uv sync --frozen
	if [ -d .git ]; then $(BIN)/pre-commit install >/dev/null || echo "note: pre-commit hook not installed"; fi
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies (uv.lock)

data: install ## Get the raw data through DVC (data/raw/iris.csv)
	dvc repro raw

run: data ## Train, evaluate and maybe promote on the active ZenML stack
	python run.py

repro: install ## Reproduce the DVC pipeline (raw data, then training)
	dvc repro

test: install ## Run the whole test suite (slow tests included)
	python -m pytest

test-fast: install ## Run only the quick unit tests
	python -m pytest -m "not slow"

bench: install ## Benchmarks against baselines; writes benchmarks/RESULTS.md (QUICK=1: a short run)
	BENCH_QUICK=$(QUICK) python -m benchmarks.run_benchmarks

profile: install ## Profile a cold and a cached training run (pyinstrument, benchmarks/results/)
	python -m benchmarks.profile_training

lint: install ## Check code style with ruff
	ruff check .
	ruff format --check .

format: install ## Format the code with ruff
	ruff format .
	ruff check --fix .

clean: ## Remove the environment, caches, reports and the raw data (DVC restores it)
	rm -rf $(VENV) .pytest_cache .ruff_cache reports data/raw
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
