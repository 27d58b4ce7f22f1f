# The README's commands. demo and test set up .venv from requirements.txt on first use; smoke needs a deployed cluster.
PYTHON ?= python3
VENV := .venv
READY := $(VENV)/.requirements-installed

.PHONY: demo test smoke

# A short local Ray Tune sweep on the offline MNIST digits; no cloud needed.
demo: $(READY)
	$(VENV)/bin/python -m workloads.tune --local

# Every test: settings, manifests, the program under Pulumi's mocks, the policy pack, the workload on a
# real local Ray, the benchmark's quick mode.
test: $(READY)
	$(VENV)/bin/python -m pytest -q

$(READY): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -r requirements.txt
	touch $@

# After `pulumi up`, with kubectl logged in to the cluster: checks the mounts, the results container, the
# GPU nodes and the autoscaler on the real cluster (python -m tools.smoke --help).
smoke: $(READY)
	$(VENV)/bin/python -m tools.smoke $(SMOKE_ARGS)
