"""The coordinator's form on one unmatched result: match to a child, try again, or reject."""

from django import forms
from django.utils.translation import gettext_lazy as _

from journey.models import OPEN_STAGES, Journey

from .models import InboundResult


class JourneyChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        born = obj.patient.date_of_birth.isoformat()
        return f"{obj.patient.last_name}, {obj.patient.first_name} ({born})"


class ResolveForm(forms.ModelForm):
    ACTIONS = [
        ("", _("Leave it waiting")),
        ("match", _("Record it for the child chosen below")),
        ("retry", _("Try again (a local code or record number was added)")),
        ("reject", _("Reject it (give the reason)")),
    ]
    action = forms.ChoiceField(label=_("What to do"), choices=ACTIONS, required=False)
    child = JourneyChoice(label=_("Child"), queryset=Journey.objects.none(), required=False)
    reason = forms.CharField(
        label=_("Reason for rejecting"), max_length=500, required=False, widget=forms.Textarea
    )

    class Meta:
        model = InboundResult
        fields = []

    def __init__(self, *args, journeys=None, **kwargs):
        super().__init__(*args, **kwargs)
        if journeys is not None and self.instance.pk:
            self.fields["child"].queryset = (
                journeys.filter(center=self.instance.center_id, stage__in=OPEN_STAGES)
                .select_related("patient")
                .order_by("patient__last_name", "patient__first_name", "pk")
            )

    def clean(self):
        data = super().clean()
        if data.get("action") == "match" and not data.get("child"):
            self.add_error("child", _("Choose the child this result belongs to."))
        if data.get("action") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Please give a reason; it is kept in the history."))
        return data
