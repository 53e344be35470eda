# Medbook: `make run` (set up and start everything with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# links in emails, .ics files and set-password mails point here: it follows HOST and PORT
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: run serve test blackbox screenshots setup install lint check messages benchmark bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

install: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py compiletranslations

# Migrate the embedded SQLite database (or DATABASE_URL), create schedules and the demo data.
setup: install
	DEBUG=1 SITE_URL=$(SITE_URL) $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py ensure_schedules

# Web server and django-q2 worker together; Ctrl-C (or SIGTERM to the group) stops both.
run: setup
	@DEBUG=1 SITE_URL=$(SITE_URL) $(BIN)/python manage.py seed_demo
	@$(MAKE) --no-print-directory serve

# Web + worker on an already set-up database (what `run` ends with).
serve:
	@echo "Starting Medbook on $(SITE_URL)/ with the background worker (Ctrl-C stops both)"
	@DEBUG=1 SITE_URL=$(SITE_URL) bash -c '$(BIN)/python manage.py qcluster & worker=$$!; \
		trap "kill -TERM $$worker 2>/dev/null; wait $$worker" EXIT INT TERM; \
		$(BIN)/python manage.py runserver $(HOST):$(PORT)'

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The black-box suites: the production profile (gunicorn, worker, PostgreSQL, Redis) over HTTP.
blackbox: install
	$(BIN)/python -m pytest -m blackbox $(PYTEST_ARGS)

# Medbook vs django-appointment 3.12 side by side (tests/bench/harness.py; README "Benchmarks").
# Needs PostgreSQL at 127.0.0.1:5432 (or BENCH_DBS=sqlite), PyPI once for the peer's virtualenv, and wrk
# (apt-get install wrk; without it a Python client reads). BENCH_QUICK=1: a smoke run of about 3 minutes.
bench: install
	$(BIN)/python tests/bench/harness.py

# The main pages in English and Vietnamese, desktop and phone, as PNGs in test-artifacts/screenshots/.
screenshots: install
	$(BIN)/python -m pytest -m screenshots tests/browser/test_screenshots.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

check: install
	DEBUG=1 $(BIN)/python manage.py check
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Extract strings into themes/locale (needs GNU gettext's xgettext), then compile.
messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l vi --ignore=.venv --ignore=var --ignore=static_collected --ignore=node_modules
	DEBUG=1 $(BIN)/python manage.py compiletranslations

clean:
	rm -rf $(VENV) var static_collected
