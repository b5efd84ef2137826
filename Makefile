# nntricks: `make lab` to work through the course, `make test` to run every test.
# Both create the virtual environment .venv from requirements.txt on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# nbgrader runs some tools (alembic) by name: the environment's scripts come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Single-threaded BLAS: faster for the course's small arrays on a shared machine, and reproducible.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: setup lab test release bench example-class clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "nntricks needs Python 3.10 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

lab: setup  ## open the student notebooks in JupyterLab, student mode (lab/README.md): no instructor tools
	cd notebooks && JUPYTER_CONFIG_PATH=$(CURDIR)/lab$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
		../$(PY) -m jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup  ## every test: the reference, the stubs, the autograder, the notebooks
	$(PY) -m pytest

release: setup  ## regenerate notebooks/ from reference/ and solutions/
	$(PY) -m autograder release

example-class: setup  ## grade the bundled synthetic class end to end (build/example_class/)
	$(PY) -m autograder grade --example --jobs 2

bench: setup  ## speed figures (see benchmarks/README.md)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache
