"""The family's note on a result or a draw, written in the admin: one page for both.

Thin: the result or draw is fetched within the user's centers (404 otherwise), writing needs
the change right on notes, and tracker.services.write_note saves (one transaction). The page
shows the note's history; the staff-only review note is shown apart, as staff only.
"""

import zoneinfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from journey import access

from .. import services
from ..forms import FamilyNoteForm
from ..models import FamilyNote, LabResult, ScheduledLab
from .entry import _render


def _may_write(request):
    if not request.user.has_perm("tracker.change_familynote"):
        raise PermissionDenied


def result_note_view(model_admin, request, pk):
    """The note on one result (its family page shows it beside the value)."""
    _may_write(request)
    results = LabResult.objects.current().filter(
        journey__in=access.journeys_for_staff(request.user)
    )
    result = get_object_or_404(
        results.select_related("test", "journey__patient", "journey__center"), pk=pk
    )
    note = FamilyNote.objects.filter(result=result).first()
    zone = zoneinfo.ZoneInfo(result.journey.center.time_zone)
    local = timezone.localtime(result.collected_at, zone)
    about = f"{result.test.code} {result.value_entered} {result.unit_entered}"
    about += f" ({result.get_flag_display()})"
    about += " · " + _("collected %(when)s") % {"when": f"{local:%Y-%m-%d %H:%M} ({zone.key})"}
    return _page(model_admin, request, result.journey, note, about, {"result": result}, result)


def draw_note_view(model_admin, request, lab_id):
    """The note on one draw: the journey and the due day of this scheduled row."""
    _may_write(request)
    rows = ScheduledLab.objects.filter(
        journey__in=access.journeys_for_staff(request.user), cancelled_at__isnull=True
    )
    row = get_object_or_404(
        rows.select_related("journey__patient", "journey__center"), public_id=lab_id
    )
    note = FamilyNote.objects.filter(journey=row.journey, due_on=row.due_on).first()
    about = _("The draw due on %(day)s") % {"day": row.due_on.isoformat()}
    return _page(model_admin, request, row.journey, note, about, {"due_on": row.due_on})


def _page(model_admin, request, journey, note, about, key, result=None):
    initial = {"text": note.text} if note else None
    form = FamilyNoteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _save(request, form, journey, key):
        url = reverse(f"{model_admin.admin_site.name}:tracker_enter_results", args=[journey.pk])
        return redirect(url)
    history = list(note.revisions.select_related("written_by")) if note else []
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Note for the family"),
        "patient": journey.patient,
        "about": about,
        "history": history,
        "staff_note": result.review_note if result else "",
        "form": form,
    }
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    return _render(request, "admin/tracker/family_note.html", context, zone)


def _save(request, form, journey, key):
    data = form.cleaned_data
    try:
        services.write_note(
            journey, text=data["text"], by=request.user, reason=data["reason"], **key
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return False
    messages.success(request, _("The note for the family is saved."))
    return True
