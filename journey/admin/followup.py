"""Follow-up pages: hand a child over to another center, the hand-overs' read-only history,
and the "at risk of loss to follow-up" marks (listed on the worklist too)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from journey import access, followup
from journey.forms import add_service_errors
from journey.models import Center, CenterTransfer, FollowUpRisk, StageChange

from .scoping import CenterScopedAdmin


class HandOverForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=None, label=_("Child"))
    to_center = forms.ModelChoiceField(queryset=Center.objects.all(), label=_("New center"))
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: the family moved. Kept in the history."),
    )

    def __init__(self, *args, patients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients.select_related("center")


@admin.register(CenterTransfer)
class CenterTransferAdmin(CenterScopedAdmin):
    """Hand-overs from or to the user's centers. The old center reads here what happened up
    to the hand-over; the child's own pages now belong to the new center."""

    list_display = ["patient", "from_center", "to_center", "moved_at", "moved_by"]
    list_select_related = ["patient", "from_center", "to_center", "moved_by"]
    fields = ["patient", "from_center", "to_center", "moved_at", "moved_by", "reason", "history"]
    readonly_fields = fields

    def scope(self, request, queryset):
        return queryset & access.transfers_for_staff(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # append-only

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("stage history up to the hand-over"))
    def history(self, transfer):
        changes = (
            StageChange.objects.filter(
                journey__patient=transfer.patient, moved_at__lte=transfer.moved_at
            )
            .select_related("journey__therapy")
            .order_by("moved_at", "pk")
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (timezone.localtime(c.moved_at).strftime("%Y-%m-%d"), str(c), c.reason)
                for c in changes
            ),
        )
        return format_html("<table>{}</table>", rows) if rows else "–"

    def add_view(self, request, form_url="", extra_context=None):
        """Hand a child over: through journey.followup.transfer_patient, which records it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = HandOverForm(
            request.POST or None,
            initial={"patient": request.GET.get("patient")},
            patients=access.patients_for_staff(request.user),
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                followup.transfer_patient(
                    data["patient"], data["to_center"], by=request.user, reason=data["reason"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("%(child)s now belongs to %(center)s; the guardians are told by email.")
                    % {"child": data["patient"], "center": data["to_center"]},
                )
                return redirect("admin:journey_centertransfer_changelist")
        return TemplateResponse(
            request,
            "admin/journey/centertransfer/hand_over.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "media": self.media + form.media,
                "title": _("Hand a child over to another center"),
            },
        )


@admin.register(FollowUpRisk)
class FollowUpRiskAdmin(CenterScopedAdmin):
    """Children at risk of loss to follow-up, by reason; a coordinator resolves a mark once
    the family is reached."""

    center_path = "patient__center"
    list_display = ["patient", "reason", "detail", "marked_at", "resolved_at"]
    list_select_related = ["patient"]
    list_filter = ["reason", ("resolved_at", admin.EmptyFieldListFilter)]
    fields = ["patient", "reason", "detail", "marked_at", "resolved_at", "resolved_by"]
    readonly_fields = fields
    actions = ["resolve"]

    def has_add_permission(self, request):
        return False  # marked by the follow-up sweeps

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("The family was reached: resolve the selected marks"))
    def resolve(self, request, queryset):
        count = queryset.filter(resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by=request.user, resolution="family reached"
        )
        messages.success(request, _("%(count)d marks resolved.") % {"count": count})
