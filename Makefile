# The two commands a newcomer needs: `make book` and `make test`.
# Both create the local virtual environment .venv on first use (Python >= 3.10 with pip).
# Without make: python3 tools/dev.py book | test | lab.
PYTHON ?= python3

.PHONY: book test lab setup clean

book:
	$(PYTHON) tools/dev.py book

test:
	$(PYTHON) tools/dev.py test $(PYTEST_ARGS)

lab:
	$(PYTHON) tools/dev.py lab

setup:
	$(PYTHON) tools/dev.py setup

clean:
	rm -rf _build _mathjax_build .hypothesis
