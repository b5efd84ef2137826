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

.PHONY: setup lab test release bench example-class clean gradescope-image-test book-setup book book-serve book-test

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

gradescope-image-test: setup  ## as root, with debootstrap: the Gradescope zip on a bare Debian 12 (about 3 min)
	NNTRICKS_GRADESCOPE_IMAGE=1 $(PY) -m pytest tests/test_gradescope_image.py -v

bench: setup  ## speed figures (see benchmarks/README.md)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache

# --- The course as a book (book/, requirements-book.txt, tests/test_book.py) ----------------------
# The book tools go into .venv only when asked for (students never need them); Python 3.11+.
book-setup: $(VENV)/.book-installed  ## the book tools of requirements-book.txt, in .venv

$(VENV)/.book-installed: $(VENV)/.installed requirements-book.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "the book tools need Python 3.11 or newer: make clean; make PYTHON=python3.11 book")'
	$(PY) -m pip install --quiet -r requirements-book.txt
	@touch $@

book: book-setup  ## the course as a static HTML book in build/book/ (nothing is executed)
	$(PY) book/build.py

book-serve: book  ## build the book and serve it on http://127.0.0.1:8000 (Ctrl-C stops)
	$(PY) -m http.server --bind 127.0.0.1 --directory build/book 8000

book-test: book-setup  ## build the book and read every page in headless Chromium (needs apt's chromium, chromium-driver)
	$(PY) -m pytest tests/test_book.py
