# The README's two commands, and the project's chores. Every target sets up .venv on first use.
#
#   make demo | test | lint | fmt | lock
#   make deploy-venv                       only what `pulumi up` and the policy pack need (no Ray, no torch)
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu   torch's CPU build (machines without a GPU)
#
# PYTHON must be the Ray images' Python (versions.RAY_PYTHON_TAG, pyproject.toml's requires-python).
PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV := .venv
# Where torch comes from. Empty: the configured index (PyPI: on Linux x86_64 the CUDA build, several GB).
# PyTorch's CPU index serves the same version without CUDA, a fraction of the size; torch alone comes from
# there (its dependencies, like everything else, from the configured index at the locked versions).
TORCH_INDEX ?=
PIP_VERSION := 26.3
PIP := $(VENV)/bin/python -m pip
READY := $(VENV)/.installed-dev
DEPLOY_READY := $(VENV)/.installed-deploy

.PHONY: demo test smoke lint fmt lock deploy-venv venv

# A short local Ray Tune sweep on the offline MNIST digits; no cloud needed.
demo: $(READY)
	$(VENV)/bin/python -m workloads.tune --local

# Every test: settings, manifests, the program under Pulumi's mocks, the policy pack, the workload on a
# real local Ray, the benchmark's quick mode.
test: $(READY)
	$(VENV)/bin/python -m pytest -q

# Lint, format check and types; what CI runs before the tests.
lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m tools.pins image-requirements --check

fmt: $(READY)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# After changing a pin in pyproject.toml: the lock (every transitive package, every platform) and the images' pip list.
lock: $(READY)
	$(VENV)/bin/uv pip compile --group dev --universal --python-version 3.11 --custom-compile-command "make lock" \
		-o constraints.txt
	$(VENV)/bin/python -m tools.pins image-requirements

venv: $(READY)
deploy-venv: $(DEPLOY_READY)

$(VENV)/bin/python:
	@$(PYTHON) tools/check_python.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip==$(PIP_VERSION)

$(DEPLOY_READY): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) install -c constraints.txt --group deploy
	touch $@

$(READY): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(if $(TORCH_INDEX),$(PIP) install --no-deps -c constraints.txt --index-url $(TORCH_INDEX) torch)
	$(PIP) install -c constraints.txt --group dev
	touch $@

# After `pulumi up`, with kubectl logged in to the cluster: checks the mounts, the results container, the
# GPU nodes and the autoscaler on the real cluster (python -m tools.smoke --help).
smoke: $(READY)
	$(VENV)/bin/python -m tools.smoke $(SMOKE_ARGS)
