# Quick start: `make demo` (set up + run the demo), `make test` (set up + run the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_WORKSPACE ?= demo-workspace

.PHONY: demo test bench lint format migration clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/accord --workspace $(DEMO_WORKSPACE) demo

test: $(VENV)/.installed-test
	./scripts/ensure-system-deps.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(VENV)/.installed-test
	./scripts/ensure-system-deps.sh
	$(BIN)/python -m bench

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Regenerate the initial migration from store/schema.py (before the first release only).
migration: $(VENV)/.installed-test
	$(BIN)/python scripts/regen_migration.py

clean:
	rm -rf $(VENV) $(DEMO_WORKSPACE) build dist .pytest_cache .ruff_cache .mypy_cache
