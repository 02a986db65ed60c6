# Quick start: `make reproduce` (main job) and `make test` (every test), from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE_STAMP := $(VENV)/.installed-base

.PHONY: install test reproduce notebooks bench clean fuzz mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP) $(BASE_STAMP)

# `reproduce` needs the package alone, not the test extra.
$(BASE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $(BASE_STAMP)

install: $(STAMP)

# Tests run on TEST_WORKERS processes (pytest-xdist); `make test TEST_WORKERS=0` runs them in one.
TEST_WORKERS ?= 2

# Notebooks run on the kernel of this venv, whatever kernels the user has installed elsewhere.
# --doctest-modules psipo_exact runs every docstring's Examples; a module whose import needs
# a package that is not installed (an optional extra such as bench) has its doctests
# reported as skipped, not failed (--doctest-ignore-import-errors).
test: $(STAMP)
	$(BIN)/ruff check psipo_exact tests benchmarks
	JUPYTER_DATA_DIR=$(CURDIR)/$(VENV)/share/jupyter \
		$(BIN)/python -m pytest tests --nbmake notebooks -p no:cacheprovider -n $(TEST_WORKERS) \
		--doctest-modules psipo_exact --doctest-ignore-import-errors

reproduce: $(BASE_STAMP)
	$(BIN)/psipo-exact reproduce --out results

# JupyterLab (the `notebooks` extra) on this venv's kernel, opened on notebooks/.
notebooks: $(BASE_STAMP)
	$(BIN)/python -m pip install -e ".[notebooks]"
	JUPYTER_DATA_DIR=$(CURDIR)/$(VENV)/share/jupyter $(BIN)/jupyter lab notebooks

bench: $(STAMP)
	$(BIN)/python -m pip install -e ".[test,bench]"
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis

# The fuzz harness at length (randomised, many more examples than in `make test`).
fuzz: $(STAMP)
	PSIPO_FUZZ=long nice $(BIN)/python -m pytest tests/test_fuzz.py -q -p no:cacheprovider

# Mutation score of closed_form, losses/ and solvers/ (config: [tool.mutmut] in
# pyproject.toml; results and the equivalent mutants: docs/mutation.md). Outside `make test`.
mutation: $(STAMP)
	$(BIN)/python -m pip install -e ".[test,mutation]"
	HYPOTHESIS_PROFILE=dev nice $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results
