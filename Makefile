# Reproducible companion: `make figures` rebuilds every result, `make test` checks everything.
# Both set up the environment themselves (.venv with pip, and the `dcutils` Jupyter kernel).

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
PROFILE  ?= quick
TIMEOUT  ?= 3600
# Worker processes of the compute step: "auto" = 1 on a GPU, else one per core (at most 8).
JOBS     ?= auto
# Data sets beside the repository (../shared/data) are used when DCUTILS_DATA is unset.
ifeq ($(origin DCUTILS_DATA), undefined)
ifneq ($(wildcard ../shared/data),)
export DCUTILS_DATA := $(abspath ../shared/data)
endif
endif

NOTEBOOKS := $(sort $(wildcard notebooks/*/*.ipynb))
EXECUTED  := $(patsubst notebooks/%.ipynb,build/$(PROFILE)/%.ipynb,$(NOTEBOOKS))
SOURCES   := $(wildcard dcutils/*.py dcutils/*/*.py)

.PHONY: all setup runs figures index test unit nbval bench lab clean help
all: figures

help:
	@echo "make figures [PROFILE=smoke|quick|paper] [-j N]   compute all runs, then run every notebook, outputs in figures/"
	@echo "make runs [PROFILE=...] [JOBS=N]                  only compute (and cache) every run the notebooks need"
	@echo "make test                                        unit tests + every notebook at the smoke profile"
	@echo "make bench                                       speed benchmarks"
	@echo "make lab                                         JupyterLab with the dcutils kernel"
	@echo "make build/quick/brb/tab05-hyperparameters-grayscale.ipynb   one notebook"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	@echo "installing packages into $(VENV) (log: $(VENV)/pip.log)"
	@$(VENV)/bin/pip install -e . > $(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	$(PY) -m ipykernel install --sys-prefix --name dcutils --display-name "Python (dcutils)" >/dev/null
	touch $@

setup: $(STAMP)

# Compute step: every run of every notebook, deduplicated, in parallel workers; cached runs are skipped.
runs: $(STAMP)
	$(PY) -m dcutils.compute --profile $(PROFILE) --jobs $(JOBS)

# Plot step: one executed notebook per source notebook, reading the cached runs; parallel under `make -j`.
build/$(PROFILE)/%.ipynb: notebooks/%.ipynb $(SOURCES) $(STAMP) | runs
	$(PY) -m dcutils.execute $< --profile $(PROFILE) --output $@ --timeout $(TIMEOUT)

figures: $(EXECUTED)
	$(MAKE) index

index: $(STAMP)
	$(PY) -c 'from dcutils import catalog, paths; (paths.FIGURES / "README.md").write_text(catalog.render_index())'

unit: $(STAMP)
	DCUTILS_OFFLINE=1 $(PY) -m pytest tests -q

nbval: $(STAMP)
	DCUTILS_PROFILE=smoke DCUTILS_OFFLINE=1 DCUTILS_QUIET=1 $(PY) -m pytest -q \
		--nbval-lax --nbval-kernel-name dcutils --nbval-cell-timeout 900 notebooks

test: unit nbval

bench: $(STAMP)
	$(PY) -m dcutils.bench

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf build results/smoke
