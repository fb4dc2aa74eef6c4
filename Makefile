# Waypoint. Two commands matter: `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
PYTHON ?= python3
# The demo's port: `make demo PORT=8001` (or PORT=8001 in the environment). Links in the demo's
# emails and the printed addresses follow it through SITE_URL.
PORT ?= 8000
SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: install browser-deps demo test lint format migrations-check messages screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# axe-core for the browser tests (tests/browser); Chromium is the system's (apt: chromium).
# Without npm the browser tests skip locally (in CI, .ci/run installs both and they must run).
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the browser tests will skip"; fi

browser-deps: $(NODE_STAMP)

# SQLite + an embedded (file-system) broker: nothing to install or start by hand.
# honcho gives the first process (web) $PORT.
demo: install
	mkdir -p var/broker/out var/broker/processed var/broker/control
	$(PY) manage.py migrate --noinput
	SITE_URL=$(SITE_URL) $(PY) manage.py seed_demo
	SITE_URL=$(SITE_URL) $(VENV)/bin/honcho -f Procfile.dev start --port $(PORT)

# `make demo` runs on SQLite while CI's suite runs on PostgreSQL: the pages and statements
# written per vendor (the worklist's key statement, prepared queries, the demo's seed) also
# run on SQLite, so the zero-setup demo cannot break unseen.
SQLITE_TESTS := tests/test_seed_demo.py tests/test_worklist_paging.py tests/test_worklist_draws.py
SQLITE_TESTS += tests/test_tracker_admin.py tests/test_portal_access.py
SQLITE_TESTS += tests/test_admin_patient_list.py tests/test_prepared_queries.py
SQLITE_TESTS += tests/test_worklist_plan.py tests/test_notifications_dispatch.py
# PostgreSQL's plan only (it skips elsewhere): left out, so the SQLite run skips nothing.
SQLITE_TESTS += --deselect tests/test_notifications_dispatch.py::test_a_sends_outcome_finds_its_outbox_row_by_primary_key

test: install browser-deps lint migrations-check
	$(VENV)/bin/pytest
	DATABASE_URL=sqlite:///var/sqlite-tests.sqlite3 $(VENV)/bin/pytest -q -p no:cacheprovider $(SQLITE_TESTS)

# Regenerates docs/screenshots/<page>-phone.png and -desktop.png, the family's message thread and
# the coordinator's admin thread (never run by CI).
screenshots: install browser-deps
	rm -f docs/screenshots/*.png
	WAYPOINT_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q -p no:cacheprovider \
		tests/browser/test_accessibility.py -k every_portal_page
	WAYPOINT_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q -p no:cacheprovider \
		tests/browser/test_thread_screenshots.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

# Spanish catalogue (docs/i18n.md): collect new strings into locale/es/LC_MESSAGES/django.po,
# then compile django.mo (committed, so `make demo` works without gettext). Needs GNU gettext.
messages: install
	$(PY) manage.py makemessages -l es --no-obsolete --ignore=.venv --ignore=node_modules \
		--ignore=staticfiles --ignore=var --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages -l es --ignore=.venv --ignore=node_modules

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
