# Two commands on a fresh machine: `make demo` and `make test`. Everything they need is
# installed from here (a virtualenv with uv inside it, system packages by script).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install system-deps demo test lint typecheck contracts unit bench clean

help:
	@echo "make demo   - set up and run the four-region store demo"
	@echo "make test   - set up and run lint, types, layer contracts and the test suite"
	@echo "make bench  - run the benchmarks (see benchmarks/README.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install -q uv

$(STAMP): pyproject.toml $(UV)
	$(UV) pip install -q --python $(BIN)/python -e ".[dev]"
	@# byte-compile once: with PYTHONDONTWRITEBYTECODE set, every `headwater` process
	@# would otherwise recompile every module it imports
	@$(BIN)/python -m compileall -q -j0 $(VENV)/lib src > /dev/null || true
	@touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

demo: install
	$(BIN)/headwater demo --dir headwater-demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

unit: install system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck contracts unit

bench: install system-deps
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) headwater-demo .pytest_cache .mypy_cache .ruff_cache
