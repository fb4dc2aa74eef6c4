"""Two-factor pages under /accounts/two-factor/: set up an authenticator app, enter a code,
new backup codes, and (guardians only) turn it off.

Staff must use it to reach the admin (admin_site.py); for guardians it is a choice.
"""

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.oath import hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import events
from .admin_site import staff_home
from .sessions import OTP_REQUIRED
from .staff_pages import page_context

APP_DEVICE = "Authenticator app"
BACKUP_DEVICE = "Backup codes"


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self):
        return self.cleaned_data["token"].strip().replace(" ", "").lower()


def _next_url(request, default):
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else default


def _home(user):
    return staff_home() if user.is_staff else reverse("portal:home")


def _render(request, template, context):
    return render(request, template, {**page_context(request), **context})


def qr_data_uri(text):
    """An SVG QR code of `text` as a data: URI (allowed by the CSP's img-src)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def new_backup_codes(user):
    """Replace the user's backup codes with fresh ones; the codes are shown once."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.WAYPOINT_BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def _verified(request, device):
    """The second factor passed: remember the device and give the session a new key."""
    otp_login(request, device)
    request.session.cycle_key()
    events.announce(request, events.OTP_VERIFIED, request.user)


def has_app(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@never_cache
@login_required
def overview(request):
    context = {"has_app": has_app(request.user), "verified": request.user.is_verified()}
    return _render(request, "two_factor/overview.html", context)


@never_cache
@sensitive_post_parameters("token")
@login_required
def setup(request):
    """Show the secret (QR and text), then confirm it with a first code."""
    user = request.user
    if has_app(user) and not request.user.is_verified():
        return redirect(f"{reverse('two_factor:verify')}?next={reverse('two_factor:setup')}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = new_backup_codes(user)
            _verified(request, device)
            request.session[OTP_REQUIRED] = not user.is_staff
            events.announce(request, events.OTP_ENABLED, user)
            context = {"codes": codes, "next": _next_url(request, _home(user))}
            return _render(request, "two_factor/backup_codes.html", context)
        form.add_error("token", _("That code did not match. Check the time on your phone."))
    context = {
        "form": form,
        "config_url": device.config_url,
        "qr": qr_data_uri(device.config_url),
        "secret": base64.b32encode(device.bin_key).decode(),
        "next": _next_url(request, ""),
    }
    return _render(request, "two_factor/setup.html", context)


@never_cache
@sensitive_post_parameters("token")
@login_required
def verify(request):
    """Enter a code from the app, or a backup code (each works once)."""
    user = request.user
    if not any(devices_for_user(user)):
        query = f"?next={_next_url(request, _home(user))}"
        return redirect(reverse("two_factor:setup") + query)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            _verified(request, device)
            return redirect(_next_url(request, _home(user)))
        events.announce(request, events.OTP_FAILED, user)
        form.add_error("token", _code_error(user, form.cleaned_data["token"]))
    context = {"form": form, "next": _next_url(request, "")}
    return _render(request, "two_factor/verify.html", context)


def _code_error(user, token):
    """Why a code was refused: one already used says so (django-otp takes each app code once),
    so the person waits for the next one instead of doubting their phone."""
    if token.isdigit():
        for device in TOTPDevice.objects.filter(user=user, confirmed=True, last_t__gte=0):
            if hotp(device.bin_key, device.last_t, digits=device.digits) == int(token):
                return _("That code was already used. Wait for the next code in your app.")
    return _("That code did not work. Try again, or use a backup code.")


@never_cache
@require_POST
@login_required
def backup_codes(request):
    if not request.user.is_verified():
        raise PermissionDenied
    codes = new_backup_codes(request.user)
    events.announce(request, events.BACKUP_CODES_RENEWED, request.user)
    return _render(request, "two_factor/backup_codes.html", {"codes": codes, "next": ""})


@never_cache
@require_POST
@login_required
def disable(request):
    """Guardians may turn the second factor off again; staff may not."""
    user = request.user
    if user.is_staff or not user.is_verified():
        raise PermissionDenied
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    request.session[OTP_REQUIRED] = False
    events.announce(request, events.OTP_DISABLED, user)
    messages.success(request, _("Two-step login is off."))
    return redirect("two_factor:overview")
