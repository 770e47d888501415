# Workshop Builder container tooling. `make help` lists the targets.
# Override variables on the command line: make run TOPIC="Intro to Docker"

PYTHON     ?= python3
VENV       ?= .venv
IMAGE      ?= workshop-builder-app
TAG        ?= latest
# No registry is reachable on our machines, so the default base is the offline
# one built by `make base-image`; with a registry: BASE_IMAGE=python:3.12-slim
BASE_IMAGE ?= workshop-builder-base:bookworm
OFFLINE_BASE := workshop-builder-base:bookworm
TOPIC      ?= Intro to Docker
PYTEST_ARGS ?=
# make bench BENCH_ARGS=--quick (CI): each measure once, figures not enforced.
BENCH_ARGS ?=
DOCKER     ?= docker
# Compose: `make install` puts docker-compose in the venv; the Docker CLI
# plugin works as well: COMPOSE="docker compose".
COMPOSE    ?= $(BIN)/docker-compose
WORKSHOPS_DIR ?= ./workshops
REPORT_DIR ?= reports
WORKSHOP_ENV_FILE ?= .env
# The compose container runs as you, so the workshops are yours; as root it
# runs as workshop-user (uid 1000), never as root, as run_docker.py does.
ifeq ($(shell id -u),0)
WORKSHOP_UID ?= 1000
WORKSHOP_GID ?= 1000
else
WORKSHOP_UID ?= $(shell id -u)
WORKSHOP_GID ?= $(shell id -g)
endif

# The topic is free text: taken as typed, with no make expansion of $(...) or
# $$ in it, and it reaches the shell as a variable, never pasted into the
# recipe text. docker-compose.yml reads these variables from the environment.
override TOPIC := $(value TOPIC)
export TOPIC IMAGE TAG BASE_IMAGE WORKSHOPS_DIR REPORT_DIR WORKSHOP_ENV_FILE \
	WORKSHOP_UID WORKSHOP_GID

BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install base-image build scan run test test-unit lint bench compose-up compose-dev clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv with the tooling and dev dependencies

# The scripts' own modules are byte-compiled, as pip does for what it installs:
# where PYTHONDONTWRITEBYTECODE is set, Python would compile them at every start.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[dev]'
	$(BIN)/python -m compileall -q lib workshop_builder
	@touch $@

# Only the offline base is built here; any other BASE_IMAGE is the engine's.
base-image: ## Build the offline Debian base image (needs root and debootstrap)
ifeq ($(BASE_IMAGE),$(OFFLINE_BASE))
	scripts/make-base-image.sh $(OFFLINE_BASE)
endif

build: install base-image ## Build, smoke-test and describe the image
	$(BIN)/python build_docker.py --image $(IMAGE) --tag $(TAG) --base-image $(BASE_IMAGE)

scan: install ## Scan the existing IMAGE:TAG with trivy, reports in REPORT_DIR
	$(BIN)/python build_docker.py --scan-only --image $(IMAGE) --tag $(TAG) \
		--report-dir "$$REPORT_DIR"

run: build ## Generate a workshop: make run TOPIC="..."
	$(BIN)/python run_docker.py --image $(IMAGE) --tag $(TAG) \
		--output-dir "$$WORKSHOPS_DIR" --topic "$$TOPIC"

test: install base-image ## All tests, the real-engine ones included
	WORKSHOP_TEST_BASE_IMAGE=$(BASE_IMAGE) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: install ## Unit tests only (no Docker engine needed)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: build ## Benchmarks against their targets (bench/run_bench.py), a table
	$(BIN)/python bench/run_bench.py --base-image $(BASE_IMAGE) \
		--image $(IMAGE):$(TAG) $(BENCH_ARGS)

lint: install ## ruff, mypy, hadolint and actionlint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/actionlint -shellcheck $(BIN)/shellcheck -pyflakes '' .github/workflows/docker.yml

# Compose needs the app's env file, and a workshops folder its user can write:
# a missing one is made for that user, as run_docker.py does.
define compose_prepare
	@test -f "$$WORKSHOP_ENV_FILE" || { \
		echo "error: $$WORKSHOP_ENV_FILE not found; run: cp .env.example .env" >&2; exit 2; }
	@test -d "$$WORKSHOPS_DIR" || { mkdir -p "$$WORKSHOPS_DIR" \
		&& chown "$$WORKSHOP_UID:$$WORKSHOP_GID" "$$WORKSHOPS_DIR"; }
endef

# Run one service of a one-shot CLI to the end, remove its container, and
# exit with the app's exit code. $(1): compose options, $(2): the service.
define compose_once
	$(COMPOSE) $(1) up --no-build --exit-code-from $(2) $(2); \
	status=$$?; $(COMPOSE) $(1) down --remove-orphans; exit $$status
endef

compose-up: build ## Generate a workshop with Docker Compose: make compose-up TOPIC="..."
	$(compose_prepare)
	$(call compose_once,,workshop-builder)

compose-dev: build ## The dev service (LOG_LEVEL=DEBUG, live source) under Compose
	$(compose_prepare)
	$(call compose_once,--profile dev,workshop-builder-dev)

# Workshops, .env and built images stay: they are yours, not leftovers.
clean: ## Remove what this project created: compose containers, .venv, caches, reports
	-! command -v $(firstword $(COMPOSE)) >/dev/null || $(COMPOSE) --profile dev down --remove-orphans
	rm -rf $(VENV) .venv-compose1 .pytest_cache .mypy_cache .ruff_cache *.egg-info reports
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	-$(DOCKER) image ls --quiet --filter label=org.workshop-builder.built-by=build_docker.py \
		--filter dangling=true | xargs -r $(DOCKER) image rm
