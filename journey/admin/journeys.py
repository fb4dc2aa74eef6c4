"""The journey page: therapy, checklist, history, and the views that move it along.

Stage, infusion date and eligibility change only through journey.services; the views here
parse a form, call the service and show its ValidationError by the field it names.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from journey import access, services, verdicts
from journey.forms import (
    ChecklistStepForm,
    InfusionDateForm,
    JourneyChangeForm,
    MoveStageForm,
    OpenJourneyForm,
    add_service_errors,
)
from journey.models import (
    ChecklistStep,
    EligibilityCheck,
    InfusionDateChange,
    Journey,
    Stage,
    StageChange,
)

from .coverage import COVERAGE_INLINES
from .patients import age_limit_label, center_today
from .scoping import CenterScopedAdmin, ReadOnlyInline

TEMPLATES = "admin/journey/journey/"


def _saved_text(change, old):
    """What the infusion date page saved, in words (ISO dates)."""
    if change is None:
        return _("Nothing changed: the infusion date was already %(date)s.") % {
            "date": old.isoformat() if old else "–"
        }
    if change.new_date is None:
        return _("Infusion date cleared (was %(old)s).") % {"old": old.isoformat()}
    if old is None:
        return _("Infusion date saved: %(new)s.") % {"new": change.new_date.isoformat()}
    return _("Infusion date saved: %(new)s (was %(old)s).") % {
        "new": change.new_date.isoformat(),
        "old": old.isoformat(),
    }


class ChecklistStepInline(admin.TabularInline):
    model = ChecklistStep
    form = ChecklistStepForm
    fields = ["title", "stage", "responsible", "required", "due_on", "done_on", "done_by", "note"]
    readonly_fields = ["title", "stage", "responsible", "required", "done_by"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("done_by")


class StageChangeInline(ReadOnlyInline):
    classes = ["collapse"]  # history: folded away under the stage and checklist
    model = StageChange
    fields = ["moved_at", "from_stage", "to_stage", "moved_by", "reason", "override_reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("moved_by")


class InfusionDateChangeInline(ReadOnlyInline):
    classes = ["collapse"]  # history: folded away under the stage and checklist
    model = InfusionDateChange
    fields = ["changed_at", "old_date", "new_date", "changed_by", "reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class EligibilityCheckInline(ReadOnlyInline):
    classes = ["collapse"]  # history: folded away under the stage and checklist
    model = EligibilityCheck
    fields = ["run_at", "therapy", "as_of", "verdict", "run_by", "result_link"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("therapy", "run_by")

    @admin.display(description=_("criteria"))
    def result_link(self, check):
        url = reverse(
            "admin:journey_journey_eligibility_result", args=[check.journey_id, check.public_id]
        )
        return format_html('<a href="{}">{}</a>', url, _("Criterion by criterion"))


@admin.register(Journey)
class JourneyAdmin(CenterScopedAdmin):
    center_path = "patient__center"
    form = JourneyChangeForm
    list_display = ["patient", "center", "therapy", "stage", "stage_entered_at", "infusion_date"]
    list_select_related = ["patient", "center", "therapy"]
    list_filter = ["stage", "therapy"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__medical_record_number"]
    fields = [  # where the journey stands first; the checklist follows, history folded
        ("stage", "stage_entered_at"),
        "infusion_date",
        ("patient", "center"),
        "therapy",
        "age_limit",
    ]
    readonly_fields = [
        "patient",
        "center",
        "stage",
        "stage_entered_at",
        "infusion_date",
        "age_limit",
    ]
    inlines = [
        ChecklistStepInline,
        *COVERAGE_INLINES,
        StageChangeInline,
        InfusionDateChangeInline,
        EligibilityCheckInline,
    ]
    change_form_template = TEMPLATES + "change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("patient__center", "therapy")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_open:
            return [*self.readonly_fields, "therapy"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        """Journeys are withdrawn or closed, not deleted: their history must stay."""
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    @admin.display(description=_("age-limit deadline"))
    def age_limit(self, journey):
        today = center_today(journey.patient.center)
        return age_limit_label(journey.patient, journey.therapy, today) or "–"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The "move" button names the usual next stage (preselected on its page)."""
        upcoming = services.next_stage(obj) if obj is not None else None
        context["next_stage"] = Stage(upcoming).label if upcoming else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        """The only editable field is the therapy, and it changes through the service."""
        therapy = form.cleaned_data.get("therapy")
        if "therapy" in form.changed_data and therapy is not None:
            services.choose_therapy(Journey.objects.get(pk=obj.pk), therapy, by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ChecklistStep:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for step, changed_fields in formset.changed_objects:
            self._save_step(request, step, changed_fields)
        return None

    def _save_step(self, request, step, changed_fields):
        """A step newly marked done goes through complete_step, which records who did it."""
        if step.done_on is None:
            step.done_by = None
        step.save()
        if step.done_on and "done_on" in changed_fields:
            services.complete_step(step, by=request.user, on=step.done_on)

    # Custom pages: open a journey, move stage, set the infusion date, eligibility.

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "<path:object_id>/move-stage/",
                view(self.move_stage_view),
                name="journey_journey_move_stage",
            ),
            path(
                "<path:object_id>/infusion-date/",
                view(self.infusion_date_view),
                name="journey_journey_infusion_date",
            ),
            path(
                "<path:object_id>/eligibility/",
                view(self.eligibility_view),
                name="journey_journey_eligibility",
            ),
            path(
                "<path:object_id>/eligibility/<uuid:check_id>/",
                view(self.eligibility_result_view),
                name="journey_journey_eligibility_result",
            ),
            *super().get_urls(),
        ]

    def _journey(self, request, object_id, change=True):
        """The journey in the user's scope (404 otherwise), with the permission checked."""
        journey = self.get_object(request, object_id)
        allowed = (
            self.has_change_permission(request, journey)
            if change
            else self.has_view_permission(request, journey)
        )
        if not allowed:
            raise PermissionDenied
        return journey

    def _render(self, request, template, journey, **context):
        form = context.get("form")
        media = self.media + form.media if form is not None else self.media
        return TemplateResponse(
            request,
            TEMPLATES + template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": journey,
                "journey": journey,
                "media": media,
                **context,
            },
        )

    def _back_to(self, journey):
        return redirect("admin:journey_journey_change", journey.pk)

    def add_view(self, request, form_url="", extra_context=None):
        """Open a journey through services.open_journey (one open journey per child)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OpenJourneyForm(
            request.POST or None,
            initial={"patient": request.GET.get("patient")},
            patients=access.patients_for_staff(request.user),
            admin_site=self.admin_site,
        )
        if request.method == "POST" and form.is_valid():
            try:
                journey = services.open_journey(
                    form.cleaned_data["patient"],
                    by=request.user,
                    therapy=form.cleaned_data["therapy"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    error = ValidationError({"patient": error.messages})
                add_service_errors(form, error)
            else:
                messages.success(request, _("Journey opened."))
                return self._back_to(journey)
        return self._render(
            request, "open_journey.html", None, form=form, title=_("Start a journey")
        )

    def move_stage_view(self, request, object_id):
        journey = self._journey(request, object_id)
        form = MoveStageForm(
            request.POST or None,
            journey=journey,
            allowed=services.allowed_stages(journey),
            next_stage=services.next_stage(journey),
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.move_stage(
                    journey,
                    form.cleaned_data["to_stage"],
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    override_reason=form.cleaned_data["override_reason"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("Moved to “%(stage)s”.") % {"stage": journey.get_stage_display()}
                )
                return self._back_to(journey)
        open_steps = journey.steps.filter(stage=journey.stage, required=True, done_on=None)
        return self._render(
            request,
            "move_stage.html",
            journey,
            form=form,
            open_steps=open_steps,
            title=_("Move the journey to another stage"),
        )

    def infusion_date_view(self, request, object_id):
        """Set day 0; a past date on a journey whose infusion is only scheduled asks first
        whether the infusion happened. The message says what was saved."""
        journey = self._journey(request, object_id)
        form = InfusionDateForm(
            request.POST or None, initial={"infusion_date": journey.infusion_date}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            today = services.center_today(journey)
            question = services.past_infusion_question(journey, data["infusion_date"], today)
            try:
                services.check_infusion_date(journey, data["infusion_date"], today)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if question and not data["infusion_happened"]:
                    form.add_error("infusion_happened", question)
                else:
                    return self._save_infusion_date(request, journey, form, asked=bool(question))
        return self._render(
            request, "infusion_date.html", journey, form=form, title=_("Set the infusion date")
        )

    def _save_infusion_date(self, request, journey, form, asked):
        data, old = form.cleaned_data, journey.infusion_date
        try:
            change = services.set_infusion_date(
                journey,
                data["infusion_date"],
                by=request.user,
                reason=data["reason"],
                uncovered_ok=data["uncovered_ok"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self._render(
                request, "infusion_date.html", journey, form=form, title=_("Set the infusion date")
            )
        messages.success(request, _saved_text(change, old))
        if asked:  # it happened: the next step is moving the journey on
            return redirect("admin:journey_journey_move_stage", journey.pk)
        return self._back_to(journey)

    def eligibility_view(self, request, object_id):
        """GET: past checks and a Run button. POST: run the check and show its result."""
        journey = self._journey(request, object_id, change=request.method == "POST")
        if request.method == "POST":
            try:
                check = services.run_eligibility(journey, by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return self._back_to(journey)
            return redirect("admin:journey_journey_eligibility_result", journey.pk, check.public_id)
        checks = journey.eligibility_checks.select_related("therapy", "run_by")
        return self._render(
            request, "eligibility.html", journey, checks=checks, title=_("Eligibility check")
        )

    def eligibility_result_view(self, request, object_id, check_id):
        journey = self._journey(request, object_id, change=False)
        check = get_object_or_404(
            journey.eligibility_checks.select_related("therapy", "run_by"), public_id=check_id
        )
        return self._render(
            request,
            "eligibility_result.html",
            journey,
            check=check,
            summary=verdicts.summary(check.verdict, check.results),
            groups=verdicts.grouped(check.results),
            title=_("Eligibility check result"),
        )
