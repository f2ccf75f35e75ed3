from django.http import HttpRequest

from records import selectors


def alerts(request: HttpRequest) -> dict[str, int]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_clinical:
        return {}
    return {"open_alert_count": selectors.open_alert_count(user)}
