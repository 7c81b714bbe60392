# crossentropy-conformance: every target bootstraps its own virtual environment.
#   make run      set up, then run the suite on the package's own implementation
#   make test     set up (TensorFlow CPU included), then run the tests
#   make reports  regenerate reports/index.html and docs/ulp-table.md (needs the frameworks)
#   make baselines regenerate reports/baselines/*.json
#   make reference regenerate reference/ from cases/ with the oracle

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
# Extras for the test environment; override e.g. TEST_EXTRAS=test to skip the frameworks.
TEST_EXTRAS ?= test,tensorflow,tf-keras,browser
LOCAL  := reports/local

.PHONY: run test reports published-runs baselines reference lint clean help

help:
	@sed -n '1,8p' Makefile

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamp files record what has been installed, so a second 'make' installs nothing.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[$(TEST_EXTRAS)]"
	@touch $@ $(VENV)/.core

run: $(VENV)/.core
	$(BIN)/conformance run --json $(LOCAL)/results.json --html $(LOCAL)/report.html

test: $(VENV)/.test
	$(BIN)/python -m pytest -q

reference: $(VENV)/.core
	$(BIN)/conformance reference --update

# Framework adapters published in reports/: what is installed in .venv runs, the rest is skipped.
FRAMEWORKS ?= tensorflow tf-keras keras-jax keras-torch keras-numpy

# Rewrite each adapter's baseline of accepted failures; reasons of kept entries carry over,
# a new failure needs REASON="..." (then edit the file to give each entry its own reason).
baselines: $(VENV)/.test
	@for a in $(FRAMEWORKS); do \
	  if $(AVAILABLE) $$a; then \
	    echo "== $$a"; \
	    $(BIN)/conformance run -a $$a -q --no-progress --json $(LOCAL)/$$a.json \
	      --baseline reports/baselines/$$a.json --update-baseline --prune-stale $(if $(REASON),--reason "$(REASON)") || exit 1; \
	  else echo "== $$a: not installed, skipped"; fi; \
	done

# Run the own implementation and every framework adapter installed here, into $(PUBLISHED).
PUBLISHED := $(LOCAL)/published
AVAILABLE = $(BIN)/conformance list --adapters --json | $(BIN)/python -c "import json,sys; \
  sys.exit(0 if any(r['name']==sys.argv[1] and r['status'].startswith('available') for r in json.load(sys.stdin)) else 1)"
published-runs: $(VENV)/.test
	rm -rf $(PUBLISHED) && mkdir -p $(PUBLISHED)
	$(BIN)/conformance run -q --no-progress --json $(PUBLISHED)/numpy.json || true
	@for a in $(FRAMEWORKS); do \
	  if $(AVAILABLE) $$a; then \
	    echo "== $$a"; $(BIN)/conformance run -a $$a -q --no-progress --json $(PUBLISHED)/$$a.json || true; \
	  else echo "== $$a: not installed, skipped"; fi; \
	done

# The published report (reports/index.html and its JSON) and the measured ULP table.
reports: published-runs
	$(BIN)/conformance report $(PUBLISHED)/*.json --html reports/index.html --json reports/index.json \
	  --title "crossentropy-conformance: published report"
	$(BIN)/python scripts/ulp_table.py $(PUBLISHED)/*.json > docs/ulp-table.md

lint: $(VENV)/.core
	$(BIN)/conformance validate
	$(BIN)/conformance reference --check
	$(BIN)/conformance coverage --check

clean:
	rm -rf $(VENV) $(LOCAL) .pytest_cache build *.egg-info
