import base64

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from epr.accounts.forms import SecondFactorForm


@require_POST
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """ "Stay logged in" on the timeout warning: any request renews the idle timeout (the session is saved
    on every request), so this only answers whether the session is still alive."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204)


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Verify a TOTP code; a user with no device yet is shown a new key to add to their app."""
    device = TOTPDevice.objects.filter(user=request.user).order_by("id").first()
    new_device = device is None or not device.confirmed
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="Authenticator", confirmed=False)
    form = SecondFactorForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        otp_login(request, device)
        # A new key for the verified session: the cookie issued before the second factor (which may
        # have been seen or fixed by someone else) must not become the verified one.
        request.session.cycle_key()
        target = request.GET.get("next", "/")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        return redirect(target)
    context = {"form": form, "new_device": new_device}
    if new_device:
        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["config_url"] = device.config_url
    return render(request, "registration/second_factor.html", context)
