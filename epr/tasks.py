"""Queue a Celery task by its name once the transaction commits, so services never import the task
modules that import them, and the tests' eager mode still runs the real task."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from epr.celery import app


def _task(name: str) -> Any:
    if name not in app.tasks:
        # A web process has not imported the apps' task modules yet: the worker's list of them.
        app.loader.import_default_modules()
    return app.tasks[name]


def queue_after_commit(task_name: str, *args: Any) -> None:
    """Run the task after this transaction commits (never for work that was rolled back)."""
    task = _task(task_name)  # an unknown name fails here, inside the service, not later in a hook
    transaction.on_commit(lambda: task.delay(*args))


def queue_now(task_name: str, *args: Any) -> None:
    """Queue the task at once (a beat task re-queueing work already committed)."""
    _task(task_name).delay(*args)
