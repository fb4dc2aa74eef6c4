"""Assigned coordinators, and the one-step hand-over of a leaving coordinator's families."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from journey import access, staffing
from journey.forms import add_service_errors
from journey.models import CareAssignment, Membership, StaffHandover, User

from .scoping import CenterScopedAdmin


def colleagues(user, active_only=False):
    """Coordinators of the user's centers (every staff member for an administrator)."""
    ids = access.center_ids_for(user)
    staff = User.objects.filter(is_staff=True)
    if ids is not None:
        members = Membership.objects.filter(center_id__in=ids).values("user_id")
        staff = staff.filter(pk__in=members)
    return (staff.filter(is_active=True) if active_only else staff).order_by("email")


class OrphanFilter(admin.SimpleListFilter):
    title = _("coordinator can no longer look after them")
    parameter_name = "orphan"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes: deactivated or left the center"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=staffing.orphans().values("pk"))
        return queryset


@admin.register(CareAssignment)
class CareAssignmentAdmin(CenterScopedAdmin):
    center_path = "patient__center"
    list_display = ["patient", "coordinator", "assigned_at"]
    list_select_related = ["patient", "coordinator"]
    list_filter = [OrphanFilter]
    fields = ["patient", "coordinator"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "coordinator":
            kwargs["queryset"] = colleagues(request.user, active_only=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class HandOverFamiliesForm(forms.Form):
    from_user = forms.ModelChoiceField(queryset=None, label=_("Leaving coordinator"))
    to_user = forms.ModelChoiceField(queryset=None, label=_("Colleague taking over"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_user"].queryset = colleagues(user)
        self.fields["to_user"].queryset = colleagues(user, active_only=True)


def moved_items(handover):
    """ "3 message threads": the registered kinds' counts, in words."""
    labels = {held.key: held.label for held in staffing.held_items()}
    return ", ".join(
        f"{count} {labels.get(key, key)}" for key, count in sorted(handover.items.items())
    )


@admin.register(StaffHandover)
class StaffHandoverAdmin(admin.ModelAdmin):
    """Hand-overs between coordinators of the user's centers: append-only."""

    list_display = ["moved_at", "from_user", "to_user", "families", "other_items", "by"]
    list_select_related = ["from_user", "to_user", "by"]
    fields = ["moved_at", "from_user", "to_user", "families", "other_items", "by", "reason"]
    readonly_fields = fields

    @admin.display(description=_("other items moved"))
    def other_items(self, obj):
        return moved_items(obj) or "-"

    def get_queryset(self, request):
        users = colleagues(request.user).values("pk")
        return super().get_queryset(request).filter(from_user__in=users)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """Every family of the leaving coordinator to one colleague, in one step."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = HandOverFamiliesForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                done = staffing.hand_over(
                    data["from_user"], data["to_user"], by=request.user, reason=data["reason"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                message = _("%(count)d families moved to %(name)s.") % {
                    "count": done.families,
                    "name": done.to_user,
                }
                if done.items:
                    message += " " + _("Also moved: %(items)s.") % {"items": moved_items(done)}
                messages.success(request, message)
                return redirect("admin:journey_staffhandover_changelist")
        return TemplateResponse(
            request,
            "admin/journey/centertransfer/hand_over.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "media": self.media + form.media,
                "title": _("Hand a leaving coordinator's families to a colleague"),
                "staff_hand_over": True,
            },
        )
