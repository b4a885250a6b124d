# Two commands: `make run` and `make test`. Both set up .venv on first use.
# `make fuzz`: the fuzz targets of tests/fuzz at depth (at least 100,000 cases; INBOUND_FUZZ=N
# for N times as many), their figures printed at the end (docs/reliability.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fuzz bench bench-pg soak docker clean

# Progress while it installs (a first install takes about a minute): a line per step and pip's
# own lines per package.
$(STAMP): pyproject.toml
	@echo "inbound: creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "inbound: upgrading pip"
	$(BIN)/pip install --quiet --upgrade pip
	@# the distribution was called `inbound` before it became `inbound-ses`
	@$(BIN)/pip uninstall --quiet --yes inbound 2>/dev/null || true
	@echo "inbound: installing inbound-ses and its dependencies into $(VENV)"
	$(BIN)/pip install --progress-bar on -e '.[test]'
	@echo "inbound: installed"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/inbound serve --config config/inbound.toml

lint: $(STAMP)
	$(BIN)/ruff check inbound tests benchmarks
	$(BIN)/ruff format --check inbound tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n auto

INBOUND_FUZZ ?= 1
fuzz: $(STAMP)
	INBOUND_FUZZ=$(INBOUND_FUZZ) $(BIN)/pytest tests/fuzz -q

# `make bench`: 5 interleaved runs, about 15 minutes; BENCH_ARGS="--runs 1 --only 10k-c10" for
# less. Haraka, the peer, comes from the npm registry at the version of the committed lock file
# (benchmarks/haraka/); without npm, or offline, the benchmark runs without it and says so.
HARAKA := benchmarks/haraka/node_modules/.installed
$(HARAKA): benchmarks/haraka/package-lock.json
	npm ci --prefix benchmarks/haraka --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

bench: $(STAMP)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(HARAKA) || \
		echo "inbound: Haraka not installed: the benchmark runs without it"; \
	else echo "inbound: npm not found: the benchmark runs without Haraka"; fi
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# 1, 2 and 4 engines on one PostgreSQL database (issue 17; its own server from Debian's
# `postgresql` binaries, or it says why not): 5 interleaved runs, about 5 minutes; fewer with
# PG_BENCH_ARGS="--runs 1".
bench-pg: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.pgscale $(PG_BENCH_ARGS)

# The soak test (docs/reliability.md, "Soak"): about 5 minutes; it records its figures there.
# Longer: make soak SOAK_ARGS="--duration 3600 --kill-every 60 --concurrency 16"
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak --record docs/reliability.md $(SOAK_ARGS)

# The image (docs/running.md, "Docker"): wheels built here, so the build needs no package index.
docker: $(STAMP)
	rm -rf dist/wheels
	$(BIN)/pip wheel --quiet --wheel-dir dist/wheels '.[postgresql]'
	docker build --build-arg 'EXTRAS=[postgresql]' -t inbound-ses .

clean:
	rm -rf $(VENV) dist .inbound .pytest_cache .mypy_cache
