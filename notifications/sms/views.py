"""The portal's number pages (set, confirm, send again, remove) and the provider's inbound
webhook (STOP, START, HELP). Thin: the forms validate, sms.numbers decides."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from journey.access import Action, get_child_for_action_or_404
from journey.views import guardian_required

from .. import views as reminder_views
from . import numbers, texts
from .forms import CodeForm, NumberForm

SETTINGS = "portal_notifications:settings"
NumberError = numbers.NumberError


def _problem(error):
    return {
        NumberError.TOO_MANY: _("We sent several codes already. Try again in an hour."),
        NumberError.NOT_SENT: _("We could not text this number. Check it, or try again later."),
        NumberError.NO_CODE: _("There is no code waiting. Type your number to get one."),
        NumberError.EXPIRED: _("This code no longer works. Ask for a new one."),
        NumberError.WRONG: _("This is not the code we sent. Check it and type it again."),
    }[error.reason]


def _then_settings(request, child, done, action, *args):
    """Run a number action for the guardian; say what happened; back to the settings page."""
    try:
        action(request.guardian, *args)
    except NumberError as exc:
        messages.error(request, _problem(exc))
    else:
        messages.success(request, done)
    return redirect(SETTINGS, public_id=child.public_id)


@require_POST
@guardian_required
def set_number(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    form = NumberForm(request.POST)
    if not form.is_valid():
        return reminder_views.settings_page(request, child, number_form=form)
    done = _("We texted you a code. Type it below to turn texts on.")
    return _then_settings(request, child, done, numbers.set_number, form.cleaned_data["number"])


@require_POST
@guardian_required
def confirm_number(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return reminder_views.settings_page(request, child, code_form=form)
    done = _("Your number is confirmed. Texts follow your choices.")
    return _then_settings(request, child, done, numbers.confirm, form.cleaned_data["code"])


@require_POST
@guardian_required
def resend_code(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    return _then_settings(request, child, _("We texted you a new code."), numbers.send_again)


@require_POST
@guardian_required
def remove_number(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    numbers.remove(request.guardian)
    messages.success(request, _("Your number is removed. Your reminders come by email."))
    return redirect(SETTINGS, public_id=child.public_id)


@never_cache
@csrf_exempt  # the provider posts here, signed with our auth token (X-Twilio-Signature)
@require_POST
def inbound(request):
    """A text to our number. 403 unless the provider's signature matches."""
    if not _signed(request):
        return HttpResponseForbidden()
    word, language = numbers.inbound(request.POST.get("From", ""), request.POST.get("Body", ""))
    answer = MessagingResponse()
    if word and language:
        answer.message(texts.reply(word, language))
    return HttpResponse(str(answer), content_type="text/xml")


def _signed(request):
    """The signature over our public URL (SITE_URL: behind a proxy the request's own host and
    scheme may differ from what the provider called) and the posted fields."""
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = f"{settings.SITE_URL}{request.get_full_path()}"
    return RequestValidator(token).validate(url, request.POST.dict(), signature)
