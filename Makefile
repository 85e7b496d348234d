# Reproducible companion: `make figures` rebuilds every result, `make test` checks everything.
# Both set up the environment themselves (.venv with pip, and the `dcutils` Jupyter kernel).

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PIP      := $(PY) -m pip
STAMP    := $(VENV)/.installed
# The test extra (pytest, ruff) on top: only `make test`, `lint`, `unit` and `nbval` need it.
TEST_STAMP := $(VENV)/.installed-test
# Exact versions of every package, tested together; `make lock` refreshes it from pyproject.toml.
LOCK     := requirements.lock
# pip-tools lives in its own throwaway venv, never in $(VENV). `make lock LOCK_FLAGS=--upgrade`
# moves every package to its newest release; LOCK_FLAGS="--upgrade-package numpy" moves one.
PIPTOOLS := build/piptools
PIP_TOOLS_VERSION ?= 7.6.2
LOCK_FLAGS ?=
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

.PHONY: all setup runs figures index test lint unit nbval lock bench lab clean help
all: figures

help:
	@echo "make figures [PROFILE=smoke|quick|paper] [-j N]   compute all runs, then run every notebook, outputs in figures/"
	@echo "make runs [PROFILE=...] [JOBS=N] [EXECUTOR=pool|inprocess|slurm|submitit-local] [STACK=auto|N] [ITEM=...]"
	@echo "                                                  only compute (and cache) every run the notebooks need"
	@echo "make status [PROFILE=...] [ITEM=brb/fig01]        runs done / running / failed / missing per notebook"
	@echo "make test                                        lint, unit tests, then every notebook at the smoke profile"
	@echo "make lint                                        ruff check dcutils tests"
	@echo "make lock [LOCK_FLAGS=--upgrade]                 refresh requirements.lock (pip-compile) from pyproject.toml"
	@echo "make bench                                       speed benchmarks"
	@echo "make lab                                         JupyterLab with the dcutils kernel"
	@echo "make build/quick/brb/tab05-hyperparameters-grayscale.ipynb   one notebook"

# The locked versions first, then dcutils itself without resolving anything again.
$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	@echo "installing the packages of $(LOCK) into $(VENV) (log: $(VENV)/pip.log)"
	@{ $(PIP) install -r $(LOCK) && $(PIP) install --no-deps -e . ; } > $(VENV)/pip.log 2>&1 \
		|| { tail -40 $(VENV)/pip.log; exit 1; }
	$(PY) -m ipykernel install --sys-prefix --name dcutils --display-name "Python (dcutils)" >/dev/null
	touch $@

# The test extra at the lock's versions (-c: constrained to them, nothing unpinned comes in).
$(TEST_STAMP): $(STAMP)
	@echo "installing the test extra into $(VENV) (log: $(VENV)/pip.log)"
	@$(PIP) install -c $(LOCK) -e '.[test]' >> $(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	touch $@

setup: $(STAMP)

# Re-resolve pyproject.toml's ranges (main dependencies + the test extra) for this Python and
# platform; pins already in $(LOCK) are kept unless they no longer fit or LOCK_FLAGS says --upgrade.
lock:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "the lock is made with Python 3.11; set PYTHON=python3.11")'
	@test -x $(PIPTOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(PIPTOOLS) && \
		$(PIPTOOLS)/bin/pip install -q pip-tools==$(PIP_TOOLS_VERSION); }
	CUSTOM_COMPILE_COMMAND="make lock" $(PIPTOOLS)/bin/pip-compile --quiet --extra test --strip-extras \
		--allow-unsafe --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) -o $(LOCK) pyproject.toml
	@# environment.yml repeats the lock's versions of the packages it names (conda users get the tested set).
	$(PYTHON) -c 'import re; norm = lambda n: re.sub(r"[-_.]+", "-", n).lower(); \
		lock = {norm(k): v for k, v in re.findall(r"(?m)^([A-Za-z0-9._-]+)==(\S+)", open("$(LOCK)").read())}; \
		s = open("environment.yml").read(); \
		open("environment.yml", "w").write(re.sub(r"(?m)^(\s{6}- )([A-Za-z0-9._-]+)==\S+$$", \
			lambda m: m[1] + m[2] + "==" + lock[norm(m[2])], s))'

# Compute step: every run of every notebook, deduplicated, cached runs skipped, on an executor:
# pool (JOBS local workers), inprocess, slurm (one SLURM job array; partition, GPUs, time limit and
# array size from slurm.toml or DCUTILS_SLURM_*, see dcutils/executors.py) or submitit-local.
# A failed run is reported with its log and `make runs` again computes only what is missing.
# STACK: the most runs a job trains together as one stacked model (auto: 10 on a GPU, 1 on a CPU).
# ITEM=brb/fig01 (repeatable) computes those items' runs only.
EXECUTOR ?= pool
STACK ?= auto
runs: $(STAMP)
	$(PY) -m dcutils.compute --profile $(PROFILE) --executor $(EXECUTOR) --jobs $(JOBS) --stack $(STACK) \
		$(foreach i,$(ITEM),--item $(i))

# Per notebook: runs done / running / failed / missing and the compute left (step time of `make bench`).
.PHONY: status
# ITEM=brb/fig01 (repeatable: ITEM="brb/fig01 brb/tab13") shows those items only.
ITEM ?=
status: $(STAMP)
	@$(PY) -m dcutils.status --profile $(PROFILE) $(foreach i,$(ITEM),--item $(i))

# One notebook: its own item's runs first (`compute --notebook`: nothing else), then the notebook itself.
# `make build/paper/brb/fig01-reclustering-barrier.ipynb PROFILE=paper` computes Figure 1's runs only.
build/$(PROFILE)/%.ipynb: notebooks/%.ipynb $(SOURCES) $(STAMP)
	$(PY) -m dcutils.compute --profile $(PROFILE) --executor $(EXECUTOR) --jobs $(JOBS) --stack $(STACK) --notebook $<
	$(PY) -m dcutils.execute $< --profile $(PROFILE) --output $@ --timeout $(TIMEOUT)

# Every notebook: one compute step for all their runs (one pool, shared runs once), then the notebooks, in
# parallel under `make -j` (each notebook's own compute finds its runs cached), then the index.
figures: $(STAMP)
	$(MAKE) --no-print-directory runs
	$(MAKE) --no-print-directory $(EXECUTED)
	$(MAKE) --no-print-directory index

index: $(STAMP)
	$(PY) -c 'from dcutils import paths, run_settings; (paths.FIGURES / "SETTINGS.md").write_text(run_settings.render("quick"))'
	$(PY) -c 'from dcutils import catalog, paths, statements; (paths.FIGURES / "README.md").write_text(catalog.render_index(statements.gallery_claims()))'

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check dcutils tests

# -rs lists every skip with its reason; tests/conftest.py fails the run on a skip not on its allow-list.
unit: $(TEST_STAMP)
	DCUTILS_OFFLINE=1 $(PY) -m pytest tests -q -rs

nbval: $(TEST_STAMP)
	DCUTILS_PROFILE=smoke DCUTILS_OFFLINE=1 DCUTILS_QUIET=1 $(PY) -m pytest -q \
		--nbval-lax --nbval-kernel-name dcutils --nbval-cell-timeout 900 notebooks

# In this order, stopping at the first that fails (also under make -j).
test: $(TEST_STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nbval

bench: $(STAMP)
	$(PY) -m dcutils.bench --resl

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf build results/smoke
