"""Catalogue pages: the demonstration pack labels a person types into "Scan medicine" to try the
closed loop without a scanner (no patient data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from prescribing.models import PackGTIN

# GS1 restricted-circulation prefixes (020-029): numbers a trust may use inside its walls, never a
# real product's. The demo packs use them.
DEMO_PREFIX = "002"


@dataclass(frozen=True)
class Label:
    pack: str
    good: str
    expired: str


def _gs1(gtin: str, expiry: date, batch: str) -> str:
    return f"(01){gtin}(17){expiry:%y%m%d}(10){batch}"


@login_required
def pack_labels(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    packs = (
        PackGTIN.objects.filter(gtin__startswith=DEMO_PREFIX).select_related("ampp").order_by("ampp__name")
    )
    labels = [
        Label(
            pack=p.ampp.name,
            good=_gs1(p.gtin, today + timedelta(days=365), f"B{p.pk:04d}"),
            expired=_gs1(p.gtin, today - timedelta(days=40), f"X{p.pk:04d}"),
        )
        for p in packs[:200]
    ]
    return render(request, "prescribing/pack_labels.html", {"labels": labels})
