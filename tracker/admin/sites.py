"""Where draws happen, in the admin: the center's local labs, a family's usual site (set once,
from the plan page) and one draw's site. Every page fetches within the user's centers (404
otherwise) and calls tracker.services.sites; a bad value comes back by its field.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.admin.scoping import CenterScopedAdmin

from ..models import LocalLab, MonitoringPlan, ResultSender, ScheduledLab, SiteChoice
from ..services.sites import set_default_site, set_draw_site


class DefaultSiteForm(forms.Form):
    local_lab = forms.ModelChoiceField(
        LocalLab.objects.none(),
        required=False,
        label=_("usual local lab"),
        empty_label=_("None: at the center"),
    )
    result_sender = forms.ChoiceField(
        choices=ResultSender.choices, label=_("who usually sends the result")
    )

    def __init__(self, *args, center, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["local_lab"].queryset = LocalLab.objects.filter(center=center)


class DrawSiteForm(DefaultSiteForm):
    site = forms.ChoiceField(choices=SiteChoice.choices, label=_("site"), required=False)
    result_sender = forms.ChoiceField(
        choices=[("", _("The usual sender")), *ResultSender.choices],
        required=False,
        label=_("who sends the result"),
    )
    reason = forms.CharField(label=_("why"), max_length=300)
    field_order = ["site", "local_lab", "result_sender", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["local_lab"].label = _("local lab")
        self.fields["local_lab"].empty_label = "—"


@admin.register(LocalLab)
class LocalLabAdmin(CenterScopedAdmin):
    center_path = "center"
    list_display = ["name", "address", "phone", "center"]
    list_select_related = ["center"]
    search_fields = ["name", "address"]

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "plan/<int:plan_id>/site/", view(self.default_site_view), name="tracker_plan_site"
            ),
            path("draw/<uuid:lab_id>/site/", view(self.draw_site_view), name="tracker_draw_site"),
            *super().get_urls(),
        ]

    def _form_page(self, request, form, title, journey):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "journey": journey,
            "form": form,
        }
        return TemplateResponse(request, "admin/tracker/site_form.html", context)

    def _saved(self, request, form, save, plan_id):
        """Run `save`; a rule broken comes back by its field (nothing saved)."""
        try:
            save()
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return False
        messages.success(request, _("Saved."))
        return redirect(reverse("admin:tracker_monitoringplan_change", args=[plan_id]))

    def default_site_view(self, request, plan_id):
        """The family's usual site and sender (the plan's default)."""
        if not request.user.has_perm("tracker.change_monitoringplan"):
            raise PermissionDenied
        plans = MonitoringPlan.objects.filter(journey__in=access.journeys_for_staff(request.user))
        plan = get_object_or_404(plans.select_related("journey__patient"), pk=plan_id)
        initial = {"local_lab": plan.default_lab_id, "result_sender": plan.default_result_sender}
        form = DefaultSiteForm(request.POST or None, initial=initial, center=plan.journey.center_id)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done = self._saved(
                request,
                form,
                lambda: set_default_site(plan, data["local_lab"], data["result_sender"]),
                plan.pk,
            )
            if done:
                return done
        title = _("Where %(patient)s's draws happen") % {"patient": plan.journey.patient}
        return self._form_page(request, form, title, plan.journey)

    def draw_site_view(self, request, lab_id):
        """One draw (the journey's open rows due that day) at another site."""
        if not request.user.has_perm("tracker.change_scheduledlab"):
            raise PermissionDenied
        rows = ScheduledLab.objects.filter(journey__in=access.journeys_for_staff(request.user))
        row = get_object_or_404(rows.select_related("journey__patient", "item"), public_id=lab_id)
        initial = {
            "site": row.site,
            "local_lab": row.local_lab_id,
            "result_sender": row.result_sender,
        }
        form = DrawSiteForm(request.POST or None, initial=initial, center=row.journey.center_id)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done = self._saved(
                request,
                form,
                lambda: set_draw_site(
                    row.journey,
                    row.due_on,
                    site=data["site"],
                    lab=data["local_lab"],
                    sender=data["result_sender"],
                    by=request.user,
                    reason=data["reason"],
                ),
                row.item.plan_id,
            )
            if done:
                return done
        title = _("Where the draw of %(day)s happens: %(patient)s") % {
            "day": row.due_on.isoformat(),
            "patient": row.journey.patient,
        }
        return self._form_page(request, form, title, row.journey)
