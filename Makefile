# parkapp developer tasks. Everything runs from the virtualenv in .venv; the stamp
# files inside it make pip run again only when a requirements file changes (or the
# venv is deleted).

VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
FLASK       := $(VENV)/bin/flask --app wsgi
RUFF        := $(VENV)/bin/ruff
STAMP_RUN   := $(VENV)/.stamp-requirements
STAMP_DEV   := $(VENV)/.stamp-requirements-dev
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv install install-dev run test browser lint format migrate bench

help:
	@echo "make run      install, migrate, seed demo data, start web + celery worker/beat"
	@echo "make test     install dev deps and run pytest (PYTEST_ARGS='...' passes options)"
	@echo "make lint     ruff check + ruff format --check + import-linter layers"
	@echo "make format   ruff format + ruff check --fix"
	@echo "make migrate  flask db upgrade"
	@echo "make bench    run bench/booking.py"
	@echo "make browser  install Debian's chromium for browser tests (root only)"

$(PY):
	python3 -m venv $(VENV)

venv: $(PY)

$(STAMP_RUN): requirements.txt | $(PY)
	$(PIP) install --disable-pip-version-check -r requirements.txt
	@touch $@

# The dev stamp implies the runtime one (requirements-dev.txt includes requirements.txt).
$(STAMP_DEV): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP_RUN) $@

install: $(STAMP_RUN)

install-dev: $(STAMP_DEV)

instance:
	@mkdir -p instance

run: $(STAMP_RUN) | instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	scripts/run-all.sh

migrate: $(STAMP_RUN) | instance
	$(FLASK) db upgrade

# Debian's chromium for Playwright tests (never `playwright install`). Installs only when
# missing and running as root; anything else is a warning, never a failure.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "WARNING: chromium is missing and we are not root; browser tests will be skipped" >&2; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "WARNING: chromium is missing and apt-get is unavailable; browser tests will be skipped" >&2; \
	else \
		( apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium ) \
		|| echo "WARNING: installing chromium failed; browser tests will be skipped" >&2; \
	fi

test: browser $(STAMP_DEV) | instance
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP_DEV)
	$(RUFF) check . && $(RUFF) format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP_DEV)
	$(RUFF) format .
	$(RUFF) check --fix .

bench: $(STAMP_DEV) | instance
	$(PY) bench/booking.py
