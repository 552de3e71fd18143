# Two commands from a fresh clone: `make demo` and `make test`.
# Each creates .venv if needed and installs sciml with the version pins in constraints.txt
# (pyproject keeps ranges): `make demo` only what the package needs, `make test` also the
# test extras.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sciml-installed
DEMO_STAMP := $(VENV)/.sciml-demo-installed
PYTEST_ARGS ?=
# Old module paths kept as aliases of moved modules (sys.modules[__name__] = ...): the
# doctest run collects the real modules, not these.
MOVED_MODULES := $(addprefix --ignore=,$(shell grep -rl 'sys.modules\[__name__\]' sciml))
# The reference data folder next to the checkout, when there is one (tests and CI); otherwise
# SCIML_DATA_DIR stays unset and sciml uses its download cache and the data bundled with it.
ifeq ($(origin SCIML_DATA_DIR),undefined)
ifneq ($(wildcard ../shared/data),)
export SCIML_DATA_DIR := $(abspath ../shared/data)
endif
endif

.PHONY: install test test-fast test-slow demo lint bench assets clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

$(DEMO_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $(DEMO_STAMP)

install: $(STAMP)

## Full test suite, notebooks included (executed in fast mode, SCIML_FAST=1).
test: $(STAMP)
	SCIML_FAST=1 $(PY) -m pytest tests notebooks --nbmake -p no:cacheprovider $(PYTEST_ARGS)
	SCIML_FAST=1 $(PY) -m pytest --doctest-modules sciml -p no:cacheprovider -q $(MOVED_MODULES)

## Everything except tests marked slow.
test-fast: $(STAMP)
	SCIML_FAST=1 $(PY) -m pytest tests notebooks --nbmake -m "not slow" $(PYTEST_ARGS)

## The main job: a short tour of all three model families, written to ./sciml-demo/.
demo: $(DEMO_STAMP)
	$(VENV)/bin/sciml demo --out sciml-demo

lint: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt ruff
	$(VENV)/bin/ruff check sciml tests benchmarks
	$(VENV)/bin/ruff format --check sciml tests benchmarks

## Regenerate the results files in benchmarks/results/ with the commands in
## benchmarks/manifest.toml (about 2 h on 2 CPU cores). ONLY=name[,name] runs some entries;
## REPORT_ONLY=1 rebuilds the ADME reports from their stored per-fold CSVs in seconds.
ONLY ?=
REPORT_ONLY ?=
bench: $(STAMP)
	$(PY) benchmarks/run_manifest.py $(if $(ONLY),--only $(ONLY)) $(if $(REPORT_ONLY),--report-only)

## Rebuild the checkpoints shipped in sciml/assets/ (never part of `make bench`; ~1 h).
assets: $(STAMP)
	$(PY) benchmarks/run_manifest.py --assets $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) sciml-demo .pytest_cache
