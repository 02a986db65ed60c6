# Quick start: `make reproduce` (main job) and `make test` (every test), from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE_STAMP := $(VENV)/.installed-base

.PHONY: install test reproduce notebooks bench clean fuzz mutation mutation-full

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
# pyproject.toml; sizing, timings, score and the equivalent mutants: docs/mutation.md).
# Outside `make test`. The scope has 16 575 mutants, ~20 h on 2 shared cores at the measured
# rates, so `mutation` runs a deterministic sample of one mutant in MUTATION_SAMPLE (CRC-32
# of the mutant's name, every module represented; at 24, ~705 mutants, 59 min measured end to
# end on 2 shared cores) and `mutation-full` runs them all. The first `mutmut run` (on the 22
# mutants of _line_search) generates the mutants and maps tests to functions. Results stay
# in mutants/ (not in git).
MUTATION_SAMPLE ?= 24
MUTMUT := HYPOTHESIS_PROFILE=mutation PSIPO_EXACT_NO_NUMBA=1 nice $(BIN)/mutmut

$(VENV)/.installed-mutation: pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -e ".[test,mutation]"
	touch $@

mutation: $(VENV)/.installed-mutation
	$(MUTMUT) run --max-children 2 'psipo_exact.solvers._line_search.*'
	$(MUTMUT) run --max-children 2 \
		$$($(BIN)/python scripts/mutation_score.py --sample $(MUTATION_SAMPLE) --list)
	$(BIN)/python scripts/mutation_score.py --sample $(MUTATION_SAMPLE)

mutation-full: $(VENV)/.installed-mutation
	$(MUTMUT) run --max-children 2
	$(BIN)/python scripts/mutation_score.py
