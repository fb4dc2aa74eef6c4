"""A center's own eligibility policy: its coordinators turn center-policy criteria on or off.

Scoped like every admin page (a setting of another center answers 404); each change goes
through services.set_center_policy, which records who, when and why.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from journey import services
from journey.models import CenterCriterionSetting

from .scoping import CenterScopedAdmin


class CenterCriterionSettingForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("Why"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text=_("Kept in the history with your name and the time."),
    )

    class Meta:
        model = CenterCriterionSetting
        fields = ["center", "criterion", "enabled", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["reason"] = ""  # every change gives its own reason


@admin.register(CenterCriterionSetting)
class CenterCriterionSettingAdmin(CenterScopedAdmin):
    form = CenterCriterionSettingForm
    list_display = ["criterion", "center", "enabled", "changed_by", "changed_at", "reason"]
    list_select_related = ["center", "criterion__therapy", "changed_by"]
    list_filter = ["enabled", "criterion__therapy"]
    readonly_fields = ["changed_by", "changed_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["center", "criterion", "enabled", "reason"]
        return ["center", "criterion", "enabled", "reason", "changed_by", "changed_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["center", "criterion", "changed_by", "changed_at"]

    def has_delete_permission(self, request, obj=None):
        """Turn a rule off instead: the setting and its history stay."""
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        saved = services.set_center_policy(
            obj.center,
            obj.criterion,
            enabled=obj.enabled,
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        obj.pk, obj.changed_by, obj.changed_at = saved.pk, saved.changed_by, saved.changed_at
