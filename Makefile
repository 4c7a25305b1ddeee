# Tenantry: every command sets up what it needs on a fresh machine (Python 3.11, make, a package registry).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
PORT ?= 4566
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help install demo test lint typecheck definitions openapi docs validate unit reliability local bench bench-smoke clean build-SharedLayer

help:
	@echo "make demo   - run the main job offline: onboard tenants on the local runtime and report"
	@echo "make test   - ruff, mypy, sam validate --lint, asl-validator, every test, and make bench-smoke"
	@echo "make definitions - regenerate statemachines/*.asl.json from statemachines/src/*.asl.yaml"
	@echo "make openapi - regenerate docs/openapi.json from the Identity API's routes"
	@echo "make docs   - regenerate docs/events.md and docs/statemachines/*.svg from the schemas and definitions"
	@echo "make local  - serve the whole application on http://127.0.0.1:$(PORT)"
	@echo "make bench  - measurements (outside make test), written to BENCHMARKS.md"
	@echo "make install - the environment in .venv, with the operator's command .venv/bin/tenantry"

# The application's environment: exact pins from requirements-dev.lock, plus this project (editable).
$(VENV)/.installed: requirements-dev.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Tenantry needs Python 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# SAM CLI and the AWS CLI pin their own boto3 and botocore, so they live in a second environment.
$(TOOLS)/.installed: requirements-tools.lock
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.lock
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m tenantry_local.demo

local: $(VENV)/.installed
	$(PY) -m tenantry_local serve --port $(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src functions tests tools
	$(VENV)/bin/ruff format --check src functions tests tools

# mypy --strict on the shared package and every handler (files and options in pyproject.toml).
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The deployed definitions, statemachines/<name>.asl.json, are generated from statemachines/src/<name>.asl.yaml
# (YAML anchors, so each retry policy is written once; CloudFormation gets plain JSON). Run after editing a source;
# tests/static/test_definitions_generated.py fails while a checked-in JSON differs from its source.
definitions: $(VENV)/.installed
	$(PY) tools/build_definitions.py

# docs/openapi.json is the Identity API's OpenAPI document, generated from its routes (tenantry.api); run after
# changing a route or a model. tests/static/test_openapi.py fails while the checked-in document differs.
openapi: $(VENV)/.installed
	$(PY) tools/build_openapi.py

# docs/events.md (the event catalogue, from schemas/ and the template) and docs/statemachines/<name>.svg (a picture
# of each definition); run after changing a schema, a sample, a rule or a definition. tests/static/test_docs_generated.py
# fails while a checked-in document differs from what its sources generate.
docs: $(VENV)/.installed
	$(PY) tools/build_event_catalogue.py
	$(PY) tools/build_state_machine_pictures.py

# asl-validator, pinned in package-lock.json, checks each deployed state machine definition against the States Language.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

validate: $(TOOLS)/.installed node_modules/.installed
	$(TOOLS)/bin/sam validate --lint --template template.yaml
	node_modules/.bin/asl-validator $(addprefix --json-path ,$(wildcard statemachines/*.asl.json))

unit: $(VENV)/.installed $(TOOLS)/.installed
	AWS_CLI=$(abspath $(TOOLS)/bin/aws) $(VENV)/bin/pytest --ignore=tests/reliability

# The reliability suite in a process of its own: a fresh local runtime, whose state (every execution, item and
# user the other tests made) it does not carry. It writes RELIABILITY.md.
reliability: $(VENV)/.installed $(TOOLS)/.installed
	AWS_CLI=$(abspath $(TOOLS)/bin/aws) $(VENV)/bin/pytest tests/reliability --durations=12

test: lint typecheck validate unit reliability bench-smoke

bench: $(VENV)/.installed
	$(PY) -m tenantry_local.bench

# Every bench section at its smallest size (about a minute, part of make test): the bench cannot break unnoticed.
bench-smoke: $(VENV)/.installed
	$(PY) -m tenantry_local.bench --smoke

# sam build: the shared layer is the tenantry package, its schemas and its pinned dependencies.
build-SharedLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python/tenantry/event_schemas"
	cp -r src/tenantry/. "$(ARTIFACTS_DIR)/python/tenantry/"
	cp -r schemas/events/. "$(ARTIFACTS_DIR)/python/tenantry/event_schemas/"
	python3 -m pip install --quiet --no-deps --only-binary=:all: --platform manylinux2014_aarch64 \
	  --python-version 3.11 --implementation cp -r layers/shared/requirements.txt -t "$(ARTIFACTS_DIR)/python"

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .aws-sam .local .pytest_cache .ruff_cache
