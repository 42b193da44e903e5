# One-time set-up into .venv (redone only when pyproject.toml changes), then run.
#   make bench   set up, then run the benchmark suite (pytest bench/ --benchmark-autosave)
#   make test    set up, then run the unit and property tests
#   make gate    gate the newest run's ledger against the committed CPU baseline
#   make lint    ruff
# The command-line tool is .venv/bin/precision-kit (or `source .venv/bin/activate` first).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PK := $(VENV)/bin/precision-kit
STAMP := $(VENV)/.precision-kit-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
LEDGERS ?= .precision_kit/ledgers
BASELINE ?= baselines/quick-cpu/claims.json
GATE_ARGS ?=

# Use the workplace's shared MNIST when it sits beside the checkout and nothing else is set.
ifeq ($(origin PRECISION_KIT_DATA), undefined)
  ifneq ($(wildcard ../shared/data/mnist),)
    export PRECISION_KIT_DATA := $(abspath ../shared/data)
  endif
endif

.PHONY: setup test bench bench-paper gate lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("precision-kit needs Python >= 3.10, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests/ -q -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pytest bench/ --benchmark-autosave $(BENCH_ARGS)

bench-paper: $(STAMP)
	$(PY) -m pytest bench/ --benchmark-autosave --pk-profile paper $(BENCH_ARGS)

gate: $(STAMP)
	$(PK) gate $(LEDGERS) --baseline $(BASELINE) $(GATE_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check precision_kit bench tests conftest.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis  # keeps .benchmarks/ and .precision_kit/ (your runs)
