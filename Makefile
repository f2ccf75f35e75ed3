# One command per chore. `make help` lists them.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.DEFAULT_GOAL := help
.PHONY: help install run dev test check lint seed worker bench bench-http

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV_STAMP): pyproject.toml package.json
	python3.11 -m venv .venv || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
	$(PY) scripts/build_assets.py
	touch $(VENV_STAMP)

install: $(VENV_STAMP) ## Install Python and front-end dependencies into the project folder

run: install ## Try the app with demo data at http://127.0.0.1:8000, DEBUG off (embedded PostgreSQL, Celery worker and beat)
	DJANGO_SETTINGS_MODULE=epr.settings.run $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=epr.settings.run $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=epr.settings.run $(PY) manage.py collectstatic --noinput --verbosity 0
	DJANGO_SETTINGS_MODULE=epr.settings.run scripts/run.sh

dev: install ## Same as run but with DEBUG on (technical error pages, static files reloaded): for developers only
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=epr.settings.dev scripts/run.sh

test: install ## Run the whole test suite (embedded PostgreSQL unless DATABASE_URL is set)
	$(PY) -m pytest

check: install ## Lint, formatting, layer contracts, type check and migration check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	.venv/bin/lint-imports
	DATABASE_URL=$${DATABASE_URL:-postgres://localhost/unused} $(PY) -m mypy
	$(PY) manage.py makemigrations --check --dry-run

lint: check ## Same as check

seed: install ## Load demo data (idempotent)
	$(PY) manage.py seed_demo

worker: install ## Run a Celery worker with beat
	.venv/bin/celery -A epr worker -B --loglevel=INFO

bench: install ## Benchmarks: 100,000 patients (about a minute), 5 million observation sets (about 4 minutes), the audit chain (2 minutes), a 30-bed ward's medicines (2 minutes), 1 million results (4 minutes), 50 clinics and a 40-ward hospital (3 minutes)
	$(PY) benchmarks/patient_index.py
	$(PY) benchmarks/observations.py
	$(PY) benchmarks/audit_chain.py
	$(PY) benchmarks/medicines.py
	$(PY) benchmarks/orders.py
	$(PY) benchmarks/scheduling.py

bench-http: install ## Throughput under gunicorn and wrk, against a bare-Django ceiling (about 15 minutes)
	$(PY) benchmarks/throughput.py
