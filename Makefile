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

demo: $(STAMP)
	$(BIN)/dfns-sim demo

test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) -q

serve: $(STAMP)
	$(BIN)/dfns-sim serve --bootstrap-out reports/bootstrap.json

bench: $(STAMP)
	$(BIN)/python -m load.bench_verification
	$(BIN)/python -m load.bench_authenticators

clean:
	rm -rf $(VENV) reports/out .pytest_cache
