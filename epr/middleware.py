from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from epr.parsing import has_nul


class RefuseNulBytesMiddleware:
    """A NUL byte in a query string or form field is refused with a 400 before any view sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        params = [*request.GET.lists()]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            params += [*request.POST.lists()]
        if any(has_nul(key) or any(has_nul(v) for v in values) for key, values in params):
            message = "The request contains a NUL character, which no field may hold."
            if request.path.startswith("/fhir"):
                body = {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "invalid", "diagnostics": message}],
                }
                return JsonResponse(body, status=400, content_type="application/fhir+json")
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)
