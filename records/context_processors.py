from django.http import HttpRequest

from records.selectors import patients as selectors


def alerts(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_clinical:
        return {}
    counts = selectors.alert_counts(user)
    return {"open_alert_count": counts["total"], "alert_counts": counts}
