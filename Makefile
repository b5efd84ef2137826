# nntricks: `make lab` to work through the course, `make test` to run every test.
# Both create the virtual environment .venv from requirements.txt on first use; `make test` also
# installs the book tools (requirements-book.txt) and, as root with apt, the Debian packages the
# tests need (else it stops at once and names the command). With CI=true it also installs the
# optional PyTorch oracle and runs the Gradescope image test.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# nbgrader runs some tools (alembic) by name: the environment's scripts come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Single-threaded BLAS: faster for the course's small arrays on a shared machine, and reproducible.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: setup system-packages torch lab test release bench example-class clean gradescope-image-test book-setup book book-serve book-test

setup: $(VENV)/.installed

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nntricks needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

lab: setup  ## open the student notebooks in JupyterLab, student mode (lab/README.md): no instructor tools
	cd notebooks && JUPYTER_CONFIG_PATH=$(CURDIR)/lab$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
		../$(PY) -m jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

# Debian packages of the tests: the grading sandbox, headless Chromium and its driver (the browser
# tests), and as root debootstrap (the Gradescope image test, which needs root anyway).
DEBIAN_NEEDS := bwrap:bubblewrap $${NNTRICKS_CHROMIUM:-chromium}:chromium $${NNTRICKS_CHROMEDRIVER:-chromedriver}:chromium-driver
ifeq ($(shell id -u),0)
DEBIAN_NEEDS += debootstrap:debootstrap
endif

system-packages:  ## the Debian packages the tests need: installed with apt-get as root, else named
	@missing=""; for need in $(DEBIAN_NEEDS); do \
		command -v "$${need%%:*}" >/dev/null 2>&1 || missing="$$missing $${need#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing the Debian packages$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "make test needs the Debian packages$$missing: run  sudo apt-get install$$missing  and make test again" >&2; \
		exit 1; \
	fi

# CI=true (set by CI services): the PyTorch oracle too, and the Gradescope zip on a bare Debian
# (tests/test_gradescope_image.py: root, debootstrap and the package registries; 3 to 5 minutes).
ifeq ($(CI),true)
TEST_EXTRAS := torch
export NNTRICKS_GRADESCOPE_IMAGE := 1
endif

torch: setup  ## the optional PyTorch oracle of the tests and benchmarks (skipped where not installable)
	$(PY) -m pip install --quiet torch==2.13.0 2>/dev/null \
		|| echo "make: torch==2.13.0 is not available here; the PyTorch oracle tests will be skipped"

test: system-packages setup book-setup $(TEST_EXTRAS)  ## every test: the reference, the stubs, the autograder, the notebooks, the book
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
# requirements-book.txt is all the book and its tests need (the Pages workflow installs only it);
# students never need it.
book-setup: $(VENV)/.book-installed  ## the book tools of requirements-book.txt, in .venv

$(VENV)/.book-installed: requirements-book.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-book.txt
	@touch $@

book: book-setup  ## the course as a static HTML book in build/book/ (nothing is executed)
	$(PY) book/build.py

book-serve: book  ## build the book and serve it on http://127.0.0.1:8000 (Ctrl-C stops)
	$(PY) -m http.server --bind 127.0.0.1 --directory build/book 8000

book-test: book-setup  ## build the book and read every page in headless Chromium (needs apt's chromium, chromium-driver)
	$(PY) -m pytest tests/test_book*.py
