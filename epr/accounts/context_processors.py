from django.http import HttpRequest


def staff(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"staff_role": user.get_role_display(), "staff_role_code": user.role}
