# Two commands run the clinic: `make run` and `make test`. See README.md.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: install messages run serve migrate seed test lint bench bench-small clean

# The development tools (tests, linter, browser driver) come with the project;
# servers leave them out with `make install EXTRAS=`.
EXTRAS ?= [dev]

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".$(EXTRAS)"
	touch $@

# The translations (README, "Languages"): each locale/<lang>/LC_MESSAGES/django.po is
# compiled to its .mo (not kept in git) by GNU gettext's msgfmt, which also checks it.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
locale/%.mo: locale/%.po
	msgfmt --check-format -o $@ $<

install: $(VENV)/.installed $(MO_FILES)

# Gathers every marked string into the catalogues again (new ones come in empty, to
# translate; changed ones fuzzy), then compiles them.
messages: install
	$(PY) manage.py makemessages -l es -l ar --no-obsolete --ignore=.venv --ignore=staticfiles \
		--ignore=var --ignore=bench --ignore=tests --ignore='*.egg-info'
	$(MAKE) $(MO_FILES)

# A local .env (DEBUG on, SQLite) the first time; edit it to change settings.
.env:
	cp .env.example .env

migrate: install .env
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed_demo

# The web server and the django-q2 worker together; Ctrl-C stops both.
run: seed
	@echo "Clinic at http://$(HOST)/ (worker running alongside). Ctrl-C stops both."
	@$(PY) manage.py qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST)

# Production web server: gunicorn with deploy/gunicorn.conf.py (BIND, WEB_CONCURRENCY,
# FORWARDED_ALLOW_IPS from the environment). Migrations, collectstatic and the worker
# are separate steps and services: see README.md, "Deploy".
serve: install
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py clinic.wsgi

# The whole suite: SQLite by default, PostgreSQL when DATABASE_URL points at one, on
# every core (pytest-xdist; a test module stays on one worker, so its module fixtures
# are built once, and the longest modules go first: tests/conftest.py). The key is
# for tests only; settings refuse to start without one when DEBUG is off.
TEST_WORKERS ?= auto
test: install
	SECRET_KEY=$${SECRET_KEY:-insecure-test-only-key} $(VENV)/bin/pytest \
		--numprocesses=$(TEST_WORKERS) --dist=loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The benchmark (README.md, "Benchmark"): the 1-year and 5-year databases made by
# `manage.py generate_load_data`, side by side, into bench/results.md.
BENCH_SERVER ?= postgres://postgres@127.0.0.1:5432
bench: install
	$(PY) bench/run.py --database-url 1y=$(BENCH_SERVER)/clinic_load_1y \
		--database-url 5y=$(BENCH_SERVER)/clinic_load $(BENCH_ARGS)

# The same on a tiny scratch database it makes and drops, one run (CI): proves the
# benchmark works; prints its table and writes no file.
bench-small: install
	$(PY) bench/run.py --small --database-url $(BENCH_SERVER) $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	SECRET_KEY=$${SECRET_KEY:-insecure-lint-only-key} $(VENV)/bin/mypy

clean:
	rm -rf $(VENV) staticfiles $(MO_FILES)
