# Every task a user runs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9
PORT ?= 3000
HOST ?=
# The training config every command follows: its model, its data (`make serve CONFIG=mine.yaml`).
CONFIG ?= configs/training.yaml
TEST_WORKERS ?= 2
RUN := python run.py --config $(CONFIG)

# The environment's tools come first (DVC stages call `python`). run.py turns ZenML's
# analytics off itself; this covers DVC's for every dvc call made here.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.DEFAULT_GOAL := help
.PHONY: help init update docs docs-serve notebook install data data-add init-data run repro serve requirements bento bench bench-tools bench-serving bench-scale bench-tabular bench-image profile test test-fast lint format clean \
	stack stack-local stack-s3 stack-docker stack-kubernetes install-kubernetes podman-socket s3-server \
	dvc-remote-s3 dashboard dashboard-stop zenml-server models promote export-model monitor new-project \
	base-image wheelhouse containerize run-image push-image registry manifests deploy \
	create-infra destroy-infra

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

# .venv's Python is one that pyproject.toml's requires-python allows and, when PYTHON is given
# (command line or environment), PYTHON's own: otherwise make stops with one line, since
# `uv sync` would quietly rebuild .venv on another interpreter. Checked on every install; a
# bare PYTHON name is looked up on the PATH make was given, not in .venv/bin (put first above).
PYTHON_GIVEN := $(if $(filter file,$(origin PYTHON)),,1)

.PHONY: python-check
python-check:
	@while [[ $$PATH == $(BIN):* ]]; do PATH=$${PATH#$(BIN):}; done; \
	range=$$(sed -n 's/^requires-python = "\([^"]*\)".*/\1/p' pyproject.toml); \
	low=$$(sed -n 's/.*>=\([0-9.]*\).*/\1/p' <<< "$$range"); \
	below=$$(sed -n 's/.*<\([0-9.]*\).*/\1/p' <<< "$$range"); \
	span="Python $$low to $${below%.*}.$$(( $${below##*.} - 1 )) (requires-python \"$$range\")"; \
	version() { "$$@" -c 'import sys; print("%d.%d.%d" % tuple(sys.version_info[:3]))' 2>/dev/null; }; \
	allowed() { printf '%s\n' "$$low" "$$1" | sort -VC && ! printf '%s\n' "$$below" "$$1" | sort -VC; }; \
	if [ -n "$(PYTHON_GIVEN)" ] || ! [ -x $(BIN)/python ]; then \
	  asked=$$(version $(PYTHON)); \
	  if [ -z "$$asked" ]; then \
	    echo "PYTHON=$(PYTHON) does not run (not installed, or a pyenv shim of an unselected version: give its full path); this project supports $$span" >&2; exit 1; fi; \
	  if ! allowed "$$asked"; then \
	    echo "PYTHON=$(PYTHON) is Python $$asked, which this project does not support: it supports $$span" >&2; exit 1; fi; \
	fi; \
	if [ -x $(BIN)/python ]; then \
	  have=$$(version $(BIN)/python); \
	  if [ -z "$$have" ]; then \
	    echo "$(VENV)'s Python no longer runs: rm -rf $(VENV), then make install (this project supports $$span)" >&2; exit 1; fi; \
	  if ! allowed "$$have"; then \
	    echo "$(VENV) is on Python $$have, which this project does not support: it supports $$span; rm -rf $(VENV), then make install PYTHON=<one of them>" >&2; exit 1; fi; \
	  if [ -n "$(PYTHON_GIVEN)" ] && [ "$${have%.*}" != "$${asked%.*}" ]; then \
	    echo "$(VENV) is on Python $$have, not PYTHON=$(PYTHON)'s $$asked: rm -rf $(VENV) to rebuild it on $$asked, or leave PYTHON out" >&2; exit 1; fi; \
	fi

$(VENV)/.installed: pyproject.toml uv.lock | python-check
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || { $(BIN)/python -m ensurepip --upgrade >/dev/null && \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	$(BIN)/uv sync --frozen
	if [ -d .git ]; then $(BIN)/pre-commit install >/dev/null || echo "note: pre-commit hook not installed"; fi
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies (uv.lock)

init: data ## Set up a fresh clone: .venv, the pre-commit hook and the data (make install + make data)

# Newer versions of every dependency within pyproject.toml's ranges; the image's pins follow.
update: install ## Upgrade the locked dependencies (uv lock --upgrade), sync .venv, refresh the image's pins
	uv lock --upgrade
	uv sync --frozen
	touch $(VENV)/.installed
	$(MAKE) requirements

# The optional `kubernetes` group (the client ZenML's Kubernetes orchestrator imports), added
# to the environment; `make install` syncs exactly and drops it, so this runs again after it.
$(VENV)/.kubernetes: $(VENV)/.installed
	$(BIN)/uv sync --frozen --inexact --group kubernetes
	touch $@

install-kubernetes: $(VENV)/.kubernetes ## Add the Kubernetes client (uv group `kubernetes`) to .venv

# The data file DVC tracks for `dvc repro`: params.yaml's `data`, the config's dataset file.
DATA := $(shell sed -n 's/^data: *//p' params.yaml)

data: install ## Get the data (params.yaml's data) through DVC: dvc pull; Iris on a fresh remote
	python -m data.get_data $(DATA).dvc

data-add: install ## Record your own data file (params.yaml's data) with DVC; then git commit, dvc push
	dvc add $(DATA)

# A config for your own CSV: the dataset block inferred, the rest copied from CONFIG.
init-data: install ## Write a training config for CSV=path/to.csv (TARGET=column, OUT=file.yaml); review it, then make run CONFIG=it
	@test -n "$(CSV)" || { echo "Set CSV, e.g. make init-data CSV=data/raw/churn.csv TARGET=churned"; exit 1; }
	$(RUN) init-data "$(CSV)" $(if $(TARGET),--target "$(TARGET)") $(if $(OUT),--output "$(OUT)")

run: data ## Train, evaluate and maybe promote on the active ZenML stack (CONFIG=)
	$(RUN)

repro: data ## Train through DVC if the data or code changed (dvc repro); commit the dvc.lock it writes
	dvc repro

serve: install ## Serve CONFIG's production model: HTTP API and web page on PORT (3000); exports it first
	$(RUN) serve --port $(PORT) $(if $(HOST),--host $(HOST))

requirements: install ## Export the serving group of uv.lock to service/requirements.txt (the image's pins)
	uv export --frozen --only-group serving --no-hashes --no-emit-project --no-header \
	  --no-annotate --output-file service/requirements.txt >/dev/null

bento: install ## Build a bento (service + CONFIG's production model) with bentoml build; exports it first
	$(RUN) bento

test: install-kubernetes ## Run the whole test suite (slow tests included), TEST_WORKERS (2) files at a time
	python -m pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: install ## Run only the quick unit tests
	python -m pytest -m "not slow"

# `hey`, the C load generator the serving benchmark drives (a Python one caps both sides).
bench-tools: ## Install hey (Debian package) for make bench, if it is missing
	command -v hey >/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq hey; }

bench: install bench-tools ## Benchmarks against baselines; writes benchmarks/RESULTS*.md (QUICK=1: a short run)
	BENCH_QUICK=$(QUICK) python -m benchmarks.run_benchmarks
	BENCH_QUICK=$(QUICK) python -m benchmarks.serving_hostile
	BENCH_QUICK=$(QUICK) python -m benchmarks.image_build

bench-serving: install bench-tools ## Only serving, with hey: the service against FastAPI + uvicorn, its inference log on against off; writes benchmarks/RESULTS-serving.md (QUICK=1: short)
	BENCH_QUICK=$(QUICK) python -m benchmarks.bench_serving

bench-scale: install ## Training at 10,000,000 rows against a plain sklearn script (about 45 minutes); writes benchmarks/RESULTS-scale.md
	python -m benchmarks.bench_scale

bench-tabular: install ## Training on 400,000 tabular rows (numeric + categorical, missing values) against a plain sklearn script; writes benchmarks/RESULTS-tabular.md
	python -m benchmarks.bench_tabular

bench-image: install ## Only the image benchmark: ours against BentoML's default recipe (podman)
	BENCH_QUICK=$(QUICK) python -m benchmarks.image_build

profile: install ## Profile a cold and a cached training run and `models` (pyinstrument; PROFILE=cached,models)
	PROFILE=$(PROFILE) python -m benchmarks.profile_training

DOCS_PORT ?= 8000

notebook: install ## Run notebooks/explore_model_versions.ipynb headless; the result, with its plots, in reports/
	mkdir -p reports
	jupyter execute --output=$(CURDIR)/reports/explore_model_versions notebooks/explore_model_versions.ipynb
	@echo "Open reports/explore_model_versions.ipynb (VS Code, or any Jupyter, with the .venv kernel)"

docs: install ## Build the documentation site into site/ (mkdocs build --strict)
	NO_MKDOCS_2_WARNING=1 mkdocs build --strict

docs-serve: install ## Serve the documentation on 127.0.0.1:DOCS_PORT (8000), rebuilding on edits
	NO_MKDOCS_2_WARNING=1 mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

lint: install ## Check code style with ruff
	ruff check .
	ruff format --check .

format: install ## Format the code with ruff
	ruff format .
	ruff check --fix .

# Stacks, the local S3 server, the dashboard (docs/stacks.md, docs/dashboard.md).
STACK ?=
S3_PORT ?= 9000
DASHBOARD_PORT ?= 8237
ZENML_SERVER_PORT ?= 8238
PODMAN_SOCKET ?=

stack: install ## Show the active ZenML stack, or switch: make stack STACK=s3
	python run.py stack $(STACK)

stack-local: install ## Switch to the local stack (ZenML's embedded default)
	python run.py stack local

stack-s3: install ## Register if needed and switch to the s3 stack (IRIS_S3_* settings)
	python run.py stack s3

stack-docker: install ## Register if needed and switch to the docker stack (steps in containers)
	python run.py stack docker

stack-kubernetes: install-kubernetes ## Register if needed and switch to the kubernetes stack
	python run.py stack kubernetes

podman-socket: install ## Podman's Docker API on a unix socket until Ctrl+C; prints the DOCKER_HOST
	python -m stack.podman_socket $(if $(PODMAN_SOCKET),--socket $(PODMAN_SOCKET))

s3-server: install ## Run a local S3 server (moto) on 127.0.0.1 (S3_PORT=9000) until Ctrl+C
	python -m stack.s3_server --port $(S3_PORT)

dvc-remote-s3: install ## Point DVC's s3 remote at IRIS_S3_BUCKET / IRIS_S3_ENDPOINT_URL
	@test -n "$$IRIS_S3_BUCKET" || { echo "Set IRIS_S3_BUCKET first (docs/stacks.md)"; exit 1; }
	dvc remote modify --local s3 url "s3://$$IRIS_S3_BUCKET/dvc"
	if [ -n "$$IRIS_S3_ENDPOINT_URL" ]; then \
	  dvc remote modify --local s3 endpointurl "$$IRIS_S3_ENDPOINT_URL"; \
	else dvc remote modify --local --unset s3 endpointurl; fi

dashboard: install ## Start the local ZenML dashboard and print its URL (pipeline runs)
	python -m stack.dashboard start --port $(DASHBOARD_PORT)

dashboard-stop: install ## Stop the local ZenML dashboard
	python -m stack.dashboard stop

zenml-server: install ## A ZenML server that counts as remote (the kubernetes stack's) on 127.0.0.1:ZENML_SERVER_PORT (8238) until Ctrl+C
	python -m stack.zenml_server --port $(ZENML_SERVER_PORT)

promote: install ## Make VERSION=N production by hand (a rollback, say) and export it for serving
	@test -n "$(VERSION)" || { echo "Set VERSION, e.g. make promote VERSION=3 (make models lists them)"; exit 1; }
	$(RUN) promote $(VERSION)

export-model: install ## Export production (or VERSION=N) into BentoML's store; serve/bento do it too
	$(RUN) export $(if $(VERSION),--version $(VERSION))

models: install ## List the model versions (VERSION=N: that version's whole story)
	$(RUN) models $(if $(VERSION),--version $(VERSION))

# The service's logged traffic against production's training data (docs/monitoring.md).
# make turns the command's exit status 3 or 4 into 2: schedulers call .venv/bin/python.
MONITOR_ARGS ?=

monitor: install ## Compare the service's logged traffic with production's training data: retrain or not (MONITOR_ARGS=--retrain)
	$(RUN) monitor $(MONITOR_ARGS)

# Container image and cluster (docs/deployment.md).
BACKEND ?= docker
# run-image and push-image use the tool that built the image unless BACKEND is given.
BACKEND_GIVEN = $(if $(filter file,$(origin BACKEND)),,--backend $(BACKEND))
REGISTRY ?=
REGISTRY_PORT ?= 5000
TLS_VERIFY ?= true
DEPLOY_ARGS ?=
OFFLINE ?=
WHEELHOUSE ?= build/wheelhouse

base-image: ## Build the Python base image from Debian packages, no registry (root; BACKEND=)
	deploy/base_image.sh $(BACKEND)

wheelhouse: install ## Download the image's packages as wheels into WHEELHOUSE, for OFFLINE=1 builds
	python run.py image wheels $(WHEELHOUSE)

containerize: install ## Bento of the production model as an OCI image (BACKEND=docker|podman|buildah; OFFLINE=1)
	$(RUN) export
	$(RUN) image build --backend $(BACKEND) $(if $(OFFLINE),--wheelhouse $(WHEELHOUSE))

run-image: install ## Run the newest image on 127.0.0.1:PORT (3000; HOST=0.0.0.0 for every interface) in the foreground
	python run.py image run $(BACKEND_GIVEN) --port $(PORT) $(if $(HOST),--host $(HOST))

push-image: install ## Push the newest image: make push-image REGISTRY=host:port/path [TLS_VERIFY=false]
	@test -n "$(REGISTRY)" || { echo "Set REGISTRY, e.g. make push-image REGISTRY=localhost:5000/iris"; exit 1; }
	python run.py image push $(REGISTRY) $(BACKEND_GIVEN) $(if $(filter false,$(TLS_VERIFY)),--no-tls-verify)

registry: install ## A throwaway local registry on 127.0.0.1:REGISTRY_PORT (5000), to try pushes
	python run.py image registry --port $(REGISTRY_PORT)

manifests: install ## Write Kubernetes manifests for the pushed image (build/kubernetes/)
	python run.py deploy --dry-run $(DEPLOY_ARGS)

deploy: install ## Apply the manifests with kubectl on its current context (DEPLOY_ARGS=--namespace x)
	python run.py deploy $(DEPLOY_ARGS)

# AWS infrastructure as code: deploy/infra.yaml as a CloudFormation stack (docs/deployment.md).
INFRA_STACK ?= iris-mlops-infra
INFRA_ENDPOINT ?=
INFRA_ARGS ?=

create-infra: install ## Create/update the AWS stack (bucket, ECR, role); its outputs go into the stack settings
	python -m deploy.infra create --stack-name $(INFRA_STACK) $(if $(INFRA_ENDPOINT),--endpoint-url $(INFRA_ENDPOINT)) $(INFRA_ARGS)

destroy-infra: install ## Delete the AWS stack made by create-infra (the bucket must be empty)
	python -m deploy.infra destroy --stack-name $(INFRA_STACK) $(if $(INFRA_ENDPOINT),--endpoint-url $(INFRA_ENDPOINT))

new-project: install ## Start your own project from this one in DEST (asks for project, model, bucket names)
	@test -n "$(DEST)" || { echo "Set DEST, e.g. make new-project DEST=../churn-mlops"; exit 1; }
	python run.py new-project $(DEST)

clean: ## Remove the environment, caches, reports and the raw CSV (make data restores it)
	rm -rf $(VENV) .pytest_cache .ruff_cache reports site data/raw/iris.csv
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
