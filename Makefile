# One-time set-up into .venv (redone only when pyproject.toml changes), then run.
#   make bench   set up, then run the benchmark suite (pytest bench/ --benchmark-autosave)
#   make test    set up, then run the unit and property tests
#   make gate    gate the newest run's ledger against the committed CPU baseline
#   make lint    ruff
#   make window  the one-window GPU run (tools/gpu_window.py; WINDOW_ARGS="--device cpu --budget 120" on a CPU)
#   make test-gpu-image  the unit tests in an env like the GPU image's (Python 3.12, torch 2.11,
#                torchvision 0.26, no torchao, the project not installed: PYTHONPATH=.), on the CPU
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
WINDOW_ARGS ?=
GPU_IMAGE_VENV ?= .venv-gpu-image
# Python 3.12 as the GPU image has it (also through pyenv when it is installed but not active), else $(PYTHON).
GPU_IMAGE_PYTHON ?= $(shell (python3.12 -c 'import sys; print(sys.executable)' \
  || PYENV_VERSION=$$(pyenv versions --bare | grep '^3\.12' | tail -1) python3.12 -c 'import sys; print(sys.executable)' \
  || echo $(PYTHON)) 2>/dev/null | head -1)
GPU_IMAGE_PACKAGES := 'torch==2.11.*' 'torchvision==0.26.*' numpy scipy pytest pytest-benchmark pytest-xdist \
  hypothesis tabulate matplotlib

# Use the workplace's shared MNIST when it sits beside the checkout and nothing else is set.
ifeq ($(origin PRECISION_KIT_DATA), undefined)
  ifneq ($(wildcard ../shared/data/mnist),)
    export PRECISION_KIT_DATA := $(abspath ../shared/data)
  endif
endif

.PHONY: setup test bench bench-paper gate window test-gpu-image lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("precision-kit needs Python >= 3.10, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests/ -q -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pytest bench/ --benchmark-autosave $(BENCH_ARGS)

# The paper profile runs on the machine's best device only (cuda where there is a GPU, else
# cpu): on a GPU host it would otherwise train every claim twice. A -m in BENCH_ARGS wins.
bench-paper: $(STAMP)
	$(PY) -m pytest bench/ --benchmark-autosave --pk-profile paper \
	  -m "$$($(PY) -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')" $(BENCH_ARGS)

gate: $(STAMP)
	$(PK) gate $(LEDGERS) --baseline $(BASELINE) $(GATE_ARGS)

window: $(STAMP)
	$(PY) tools/gpu_window.py $(WINDOW_ARGS)

$(GPU_IMAGE_VENV)/.installed:
	test -x $(GPU_IMAGE_VENV)/bin/python || $(GPU_IMAGE_PYTHON) -m venv $(GPU_IMAGE_VENV)
	$(GPU_IMAGE_VENV)/bin/python -m pip install -q $(GPU_IMAGE_PACKAGES)
	touch $@

test-gpu-image: $(GPU_IMAGE_VENV)/.installed
	PYTHONPATH=. $(GPU_IMAGE_VENV)/bin/python -m pytest tests/ -q -n 2 --dist loadgroup -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check precision_kit bench tests tools conftest.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis  # keeps .benchmarks/ and .precision_kit/ (your runs)
