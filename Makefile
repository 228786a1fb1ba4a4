# Two entry points for a new user: `make lab` and `make test`. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup lab test bench clean docs-shots

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build from local disk first, so the project's torch range installs nothing more
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# glibc: serve large blocks from a heap that is never trimmed (see src/trainlab/malloc.py). The
# CLI also sets this at start-up with mallopt; set in the environment before the process starts
# it measured faster still (benchmarks/README.md, "dropout study").
lab: setup
	MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 $(VENV)/bin/trainlab lab

# A fresh-environment check first: every declared dependency is installed and consistent (pip check),
# and a usage error gives exit 2 with no traceback (a missing dependency would crash it).
test: setup
	bash scripts/test-setup.sh
	$(VENV)/bin/python -m pip check
	bash scripts/check-fresh-cli.sh $(VENV)/bin/trainlab
	$(VENV)/bin/python -m pytest -q

# The browser tests of `trainlab play` write their screenshots into docs/img (instead of a temporary folder).
docs-shots: setup
	TRAINLAB_DOCS_SHOTS=docs/img $(VENV)/bin/python -m pytest -q tests/test_play_browser.py

clean:
	rm -rf $(VENV) build src/*.egg-info
