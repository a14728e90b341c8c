# The two commands: `make run` and `make test`. Both set up whatever is missing first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
INSTALLED := $(VENV)/.installed-$(REQ_HASH)

.PHONY: run test bench lint audit migrate setup-run setup-test services database totp clean-venv

run: setup-run
	@scripts/run.sh

test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	@scripts/test.sh $(PYTEST_ARGS)

bench: setup-test
	@scripts/setup.sh system bench
	$(PY) -m bench $(BENCH_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Known vulnerabilities in the installed dependencies (pip-audit, PyPI's advisory database).
# Needs the network, so it is not part of `make test`; without it, it says so and succeeds.
audit: $(INSTALLED)
	@test -x $(VENV)/bin/pip-audit || $(PY) -m pip install -q "$$(grep -i '^pip-audit==' requirements-dev.txt)"
	@if ! $(PY) -c "import urllib.request; urllib.request.urlopen('https://pypi.org/pypi/pip/json', timeout=10)" 2>/dev/null; then \
		echo "==> audit skipped: pypi.org cannot be reached, and pip-audit needs it. Run 'make audit' online."; \
		exit 0; \
	fi; \
	echo "==> auditing the packages installed in $(VENV) (pip-audit)"; \
	$(VENV)/bin/pip-audit --progress-spinner off --desc on

totp: $(INSTALLED)
	@DEMO_MODE=true $(PY) manage.py demo_totp

setup-run:
	@scripts/setup.sh system run
	@$(MAKE) --no-print-directory $(INSTALLED) migrate

setup-test:
	@scripts/setup.sh system test
	@$(MAKE) --no-print-directory $(INSTALLED) services database

$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "==> installing Python packages into $(VENV)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

services:
	@scripts/setup.sh env
	@scripts/setup.sh services

database: services
	@scripts/setup.sh database

migrate: database
	@$(PY) manage.py migrate --noinput -v 0

clean-venv:
	rm -rf $(VENV)
