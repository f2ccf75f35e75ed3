#!/usr/bin/env bash
# Start a Celery worker with beat beside the web server; stop both together. `make run` sets
# DJANGO_SETTINGS_MODULE=epr.settings.run (DEBUG off), `make dev` epr.settings.dev (DEBUG on).
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-epr.settings.dev}"
.venv/bin/celery -A epr worker -B --loglevel=WARNING --concurrency=2 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
.venv/bin/python manage.py runserver "${EPR_ADDRESS:-127.0.0.1:8000}"
