# Quick start: `make reproduce` (main job) and `make test` (every test), from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test reproduce bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Tests run on TEST_WORKERS processes (pytest-xdist); `make test TEST_WORKERS=0` runs them in one.
TEST_WORKERS ?= 2

# Notebooks run on the kernel of this venv, whatever kernels the user has installed elsewhere.
test: $(STAMP)
	$(BIN)/ruff check psipo_exact tests benchmarks
	JUPYTER_DATA_DIR=$(CURDIR)/$(VENV)/share/jupyter \
		$(BIN)/python -m pytest tests --nbmake notebooks -p no:cacheprovider -n $(TEST_WORKERS)

reproduce: $(STAMP)
	$(BIN)/psipo-exact reproduce --out results

bench: $(STAMP)
	$(BIN)/python -m pip install -e ".[test,bench]"
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
