"""Celery tasks: thin, idempotent, safe to retry; each calls one service. Each feature's tasks are in
its own block."""

from __future__ import annotations

# --- clinics and appointments ---

# --- discharge summaries and letters ---
