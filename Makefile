# Quick start: `make reproduce` (main job) and `make test` (every test), from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test reproduce bench clean fuzz mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Notebooks run on the kernel of this venv, whatever kernels the user has installed elsewhere.
test: $(STAMP)
	$(BIN)/ruff check psipo_exact tests benchmarks
	JUPYTER_DATA_DIR=$(CURDIR)/$(VENV)/share/jupyter \
		$(BIN)/python -m pytest tests --nbmake notebooks -p no:cacheprovider

reproduce: $(STAMP)
	$(BIN)/psipo-exact reproduce --out results

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
