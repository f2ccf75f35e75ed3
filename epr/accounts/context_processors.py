from django.conf import settings
from django.http import HttpRequest


def staff(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "staff_role": user.get_role_display(),
        "staff_role_code": user.role,
        # For the timeout warning (templates/registration/timeout_warning.html).
        "session_idle_seconds": settings.SESSION_COOKIE_AGE,
    }
