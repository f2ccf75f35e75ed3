#!/usr/bin/env bash
# Start a Celery worker with beat beside the development web server; stop both together.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-epr.settings.dev}"
.venv/bin/celery -A epr worker -B --loglevel=WARNING --concurrency=2 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
.venv/bin/python manage.py runserver "${EPR_ADDRESS:-127.0.0.1:8000}"
