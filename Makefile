# Everything runs inside a project-local virtual environment created on first use, so the
# two README commands work on a machine with nothing but Python 3.11, make and git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
WORKERS ?= 2

.PHONY: install demo test conformance serve bench lint clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# soft-webauthn pins fido2<2: an interop peer for tests only, installed without its deps.
	$(BIN)/python -m pip install --quiet --no-deps soft-webauthn==0.1.4
	touch $(STAMP)

install: $(STAMP)

# The Allure HTML report is built offline by allure-commandline (npm package bundling its jar;
# runs on the machine's Java). Without npm or Java the other reports are still written.
demo: $(STAMP)
	@if command -v npm >/dev/null; then cd reports && npm install --no-save --no-audit --no-fund --silent; \
	 else echo "npm not found: the Allure HTML report will be skipped"; fi
	$(BIN)/dfns-sim demo

test: lint
	$(BIN)/python -m pytest -n $(WORKERS) -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy simulator virtual_authenticators scenarios conformance load reports

serve: $(STAMP)
	$(BIN)/dfns-sim serve --bootstrap-out reports/bootstrap.json

bench: $(STAMP)
	$(BIN)/dfns-sim bench
	$(BIN)/python -m load.bench_authenticators

clean:
	rm -rf $(VENV) reports/out .pytest_cache .mypy_cache

# -- persistence and hardening (docs/persistence-and-hardening.md) -------------------------
.PHONY: fuzz races hardening-long

# >= 10,000 schemathesis requests across every route through the HTTP door (~5 min).
fuzz: $(STAMP)
	$(BIN)/python -m tests.hardening.fuzzing --requests 10000 --out reports/fuzz.json

# 1,000 races per single-use item and door, on both stores (exactly one success each).
races: $(STAMP)
	DFNS_SIM_RACES=1000 $(BIN)/python -m pytest tests/hardening/test_races.py \
		tests/hardening/test_races_sqlite.py -q -n $(WORKERS)

# races + 30 s of 50 concurrent clients on both stores + the long fuzz run.
hardening-long: races fuzz
	DFNS_SIM_LOAD_SECONDS=30 $(BIN)/python -m pytest tests/hardening/test_concurrency.py -q -s
