# crossentropy-conformance: every target bootstraps its own virtual environment.
#   make run      set up, then run the suite on the package's own implementation
#   make test     set up (TensorFlow CPU included), then run the tests
#   make reports  regenerate the published report in reports/ (needs the frameworks)
#   make baselines regenerate reports/baselines/*.json
#   make reference regenerate reference/ from cases/ with the oracle

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
# Extras for the test environment; override e.g. TEST_EXTRAS=test to skip the frameworks.
TEST_EXTRAS ?= test,tensorflow,tf-keras,browser
LOCAL  := reports/local

.PHONY: run test reports baselines reference lint clean help

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

lint: $(VENV)/.core
	$(BIN)/conformance validate
	$(BIN)/conformance reference --check
	$(BIN)/conformance coverage --check

clean:
	rm -rf $(VENV) $(LOCAL) .pytest_cache build *.egg-info
