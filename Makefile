# The two commands a newcomer needs: `make book` and `make test`.
# Both create the local virtual environment .venv on first use (Python >= 3.10 with pip).
# Without make: python3 tools/dev.py book | test | lab | lint | test-fast | notebooks.
#
#   make book                 the book + its JupyterLite site (Pyodide's packages from the CDN)
#   make book LITE=offline    the same, self-contained: Pyodide's packages copied into the site
#   make test                 everything: unit, doctests, nbval, strict build, browser tests
#   make test-fast            unit tests and doctests only (no notebooks, no slow tests)
#   make lint                 ruff (configured in pyproject.toml)
#   make notebooks            re-execute every notebook in book/ and store its outputs
PYTHON ?= python3
LITE ?= cdn

.PHONY: book test test-fast lint notebooks lab setup clean

book:
	$(PYTHON) tools/dev.py book --lite $(LITE)

test:
	$(PYTHON) tools/dev.py test $(PYTEST_ARGS)

test-fast:
	$(PYTHON) tools/dev.py test-fast $(PYTEST_ARGS)

lint:
	$(PYTHON) tools/dev.py lint

notebooks:
	$(PYTHON) tools/dev.py notebooks

lab:
	$(PYTHON) tools/dev.py lab

setup:
	$(PYTHON) tools/dev.py setup

clean:
	rm -rf _build _mathjax_build _lite _contents _site_extra .jupyterlite.doit.db .hypothesis
