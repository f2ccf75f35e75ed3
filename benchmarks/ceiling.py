"""The ceiling for benchmarks/throughput.py: bare Django, one view, no middleware, no apps. It reads one
patient row by primary key (one indexed query) and returns it as JSON, on the app's database with the
same persistent connections the app gets. Served by gunicorn as `ceiling:application`."""

from __future__ import annotations

import os

import environ
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="ceiling-benchmark-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            **environ.Env.db_url_config(os.environ["EPR_CEILING_DATABASE_URL"]),
            "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
        }
    },
)


def patient(request: HttpRequest, patient_id: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, nhs_number, family_name, given_names, date_of_birth, postcode "
            "FROM records_patient WHERE id = %s",
            [patient_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Http404
    keys = ("id", "nhs_number", "family_name", "given_names", "birth_date", "postcode")
    return JsonResponse({**dict(zip(keys, row, strict=True)), "birth_date": str(row[4])})


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("", index), path("patient/<int:patient_id>", patient)]

application = get_wsgi_application()
