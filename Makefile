# Two entry points for a new user: `make lab` and `make test`. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup lab test bench clean docs-shots fashion-mnist

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
lab: setup fashion-mnist
	MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 $(VENV)/bin/trainlab lab

# Fashion-MNIST in full, offline, for the lab's whole protocol on real data (`trainlab lab dropout
# dataset=fashion-mnist`; not part of `lab all`): the Debian package where apt is available, else skipped
# with the reason. Never fails the target: the lab itself does not need it.
FMNIST_DIR := /usr/share/datasets/fashion-mnist
fashion-mnist:
	@if [ -f $(FMNIST_DIR)/train-images-idx3-ubyte.gz ]; then \
		echo "fashion-mnist: installed ($(FMNIST_DIR))"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "fashion-mnist: skipped, apt-get is not available here (put the 4 IDX files in a folder and pass --data-dir)"; \
	elif [ "$$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then \
		echo "fashion-mnist: skipped, installing the Debian package needs root (sudo apt-get install dataset-fashion-mnist)"; \
	else \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo -n); \
		$$SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
		|| { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } \
		&& echo "fashion-mnist: installed the Debian package dataset-fashion-mnist" \
		|| echo "fashion-mnist: skipped, apt-get could not install dataset-fashion-mnist (no Debian repository reachable?)"; \
	fi

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
