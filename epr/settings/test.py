"""Test settings: the same stack, a fast password hasher, tasks run by the test that calls them."""

import os
import tempfile

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# The test database is created, flushed and dropped by the owner role; tests of what the app's own
# role may do connect as EPR_DATABASE_RUNTIME themselves.
os.environ.setdefault("EPR_DATABASE_AS_OWNER", "1")


from epr.settings.base import *  # noqa: F403
from epr.settings.base import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Tasks run in-process when their after-commit hook fires: the real task code, without a broker.
CELERY_TASK_ALWAYS_EAGER = True
# Every FHIR response the tests receive is checked against the FHIR models (a server does not pay for it).
EPR_FHIR_VALIDATE_RESPONSES = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = True
# Orders out go to a folder of this test run's own, never the developer's outbox.
EPR_ORDERS_OUTBOX = tempfile.mkdtemp(prefix="epr-test-outbox-")
EPR_DOCUMENTS_OUTBOX = tempfile.mkdtemp(prefix="epr-test-documents-")
