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

# The topic reaches the shell as a variable, never pasted into the recipe text.
export TOPIC

BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install base-image build run test test-unit lint clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv with the tooling and dev dependencies

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[dev]'
	@touch $@

# Only the offline base is built here; any other BASE_IMAGE is the engine's.
base-image: ## Build the offline Debian base image (needs root and debootstrap)
ifeq ($(BASE_IMAGE),$(OFFLINE_BASE))
	scripts/make-base-image.sh $(OFFLINE_BASE)
endif

build: install base-image ## Build, smoke-test and describe the image
	$(BIN)/python build_docker.py --image $(IMAGE) --tag $(TAG) --base-image $(BASE_IMAGE)

run: build ## Generate a workshop: make run TOPIC="..."
	$(BIN)/python run_docker.py --image $(IMAGE) --tag $(TAG) --topic "$$TOPIC"

test: install base-image ## All tests, the real-engine ones included
	WORKSHOP_TEST_BASE_IMAGE=$(BASE_IMAGE) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: install ## Unit tests only (no Docker engine needed)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: install ## ruff, mypy and hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

clean: ## Remove what this project created: .venv, caches, test images
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	-docker image ls --quiet --filter label=org.workshop-builder.built-by=build_docker.py \
		--filter dangling=true | xargs -r docker image rm
