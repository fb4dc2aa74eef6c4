"""The family portal's reminder pages: settings per child, snooze, and the unsubscribe link.

Thin views: the child comes from journey.access.get_child_or_404 (another family's child is a
404), the forms validate, notifications.services saves and re-plans.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from journey.access import Action, get_child_for_action_or_404
from journey.views import guardian_required

from . import services
from .forms import ReminderSettingsForm, SnoozeForm, zone_choices
from .sms.forms import CodeForm, NumberForm
from .sms.numbers import number_for

SETTINGS = "portal_notifications:settings"


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def reminder_settings(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    form = None
    if request.method == "POST":
        form = ReminderSettingsForm(request.POST)
        if form.is_valid():
            services.save_preferences(
                request.guardian, child, form.preference_values(), form.cleaned_data["time_zone"]
            )
            messages.success(request, _("Saved. Your reminder emails now follow these choices."))
            return redirect(SETTINGS, public_id=child.public_id)
    return settings_page(request, child, form=form)


@require_POST
@guardian_required
def snooze(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return settings_page(request, child, snooze_form=form)
    pref = services.pause_reminders(request.guardian, child, form.cleaned_data["days"])
    until = timezone.localtime(pref.snoozed_until)
    when = f"{formats.date_format(until, 'D j M')}, {until:%H:%M}"
    text = _("Paused. Emails wait until %(when)s; none are lost.") % {"when": when}
    messages.success(request, text)
    return redirect(SETTINGS, public_id=child.public_id)


@require_POST
@guardian_required
def unsnooze(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.CHANGE_SETTINGS)
    services.resume_reminders(request.guardian, child)
    messages.success(request, _("The pause is over. Emails go out at their usual times again."))
    return redirect(SETTINGS, public_id=child.public_id)


@never_cache
@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" with no cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """The List-Unsubscribe link: the signed token is the key, no login needed."""
    target = services.target_of_token(token)
    if target is None:
        raise Http404
    guardian, child = target
    own = request.user.is_authenticated and guardian.user_id == request.user.pk
    if request.method == "GET" and own:
        return redirect(SETTINGS, public_id=child.public_id)
    with translation.override(guardian.language):
        if request.method == "POST":
            services.stop_emails(guardian, child)
            template = "portal/notifications/unsubscribed.html"
        else:
            template = "portal/notifications/unsubscribe.html"
        context = {"token": token, "name": services.name_for_link(guardian, child)}
        return render(request, template, context)


def settings_page(request, child, form=None, snooze_form=None, number_form=None, code_form=None):
    """The reminder settings page; a form given (bound, with errors) replaces its blank one."""
    now, guardian = timezone.now(), request.guardian
    pref = services.preference_for(guardian, child)
    snoozed = pref.snoozed_until if pref.snoozed_until and pref.snoozed_until > now else None
    number = number_for(guardian)
    context = {
        "child": child,
        "page": "reminders",
        "form": form or ReminderSettingsForm.for_preference(pref, guardian.time_zone),
        "snooze_form": snooze_form or SnoozeForm(),
        "snoozed_until": snoozed,
        "upcoming": services.upcoming_for(guardian, child),
        "zones": zone_choices(guardian.time_zone),
        "text_number": number,
        "number_form": number_form or NumberForm(),
        "code_form": code_form or CodeForm(),
    }
    return render(request, "portal/notifications/settings.html", context)
