# Two commands: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/inbound serve --config config/inbound.toml

lint: $(STAMP)
	$(BIN)/ruff check inbound tests benchmarks
	$(BIN)/ruff format --check inbound tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n auto

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .inbound .pytest_cache .mypy_cache
