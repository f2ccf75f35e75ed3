"""The kernel's own pages: the front door, which sends each user to the page their role lands on."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from epr.navigation import landing_url


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(landing_url(request.user))
