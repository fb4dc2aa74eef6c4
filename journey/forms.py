"""Forms for the coordinator admin. They parse input; journey.services decides and records."""

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    ChecklistStep,
    Guardian,
    Guardianship,
    Journey,
    MarketStatus,
    Stage,
    Therapy,
    User,
)
from .portal import invitations
from .widgets import SafeAutocompleteSelect


def add_service_errors(form, error):
    """Show a service's ValidationError by the fields it names; the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def open_therapies(current=None):
    """Therapies a journey may take now, plus the one it already has."""
    qs = Therapy.objects.filter(market_status=MarketStatus.APPROVED)
    if current is not None:
        qs = Therapy.objects.filter(pk=current.pk) | qs
    return qs.order_by("name")


class OpenJourneyForm(forms.Form):
    """Start a journey: the child and, if already known, the therapy."""

    patient = forms.ModelChoiceField(queryset=None, label=_("Child"))
    therapy = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("Therapy"),
        help_text=_("Can be chosen later."),
    )
    reason = forms.CharField(
        label=_("Note for the history"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, patients, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # The widget first: setting the queryset hands it the choices.
        self.fields["patient"].widget = SafeAutocompleteSelect(
            Journey._meta.get_field("patient"), admin_site
        )
        self.fields["patient"].queryset = patients
        self.fields["therapy"].queryset = open_therapies()


class JourneyChangeForm(forms.ModelForm):
    """The journey page edits only the therapy; stage and dates have their own views."""

    class Meta:
        model = Journey
        fields = ["therapy"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "therapy" in self.fields:
            current = self.instance.therapy if self.instance.therapy_id else None
            self.fields["therapy"].queryset = open_therapies(current)
            self.fields["therapy"].required = current is not None


class ChecklistStepForm(forms.ModelForm):
    class Meta:
        model = ChecklistStep
        fields = ["due_on", "done_on", "note"]

    def clean_done_on(self):
        done_on = self.cleaned_data["done_on"]
        if done_on and done_on > timezone.localdate():
            raise ValidationError(_("A step cannot be done in the future."))
        return done_on


class GuardianshipFormSet(forms.BaseInlineFormSet):
    """At most one primary contact per child (the database enforces it too)."""

    def clean(self):
        super().clean()
        primaries = [
            form
            for form in self.forms
            if form.cleaned_data.get("role") == Guardianship.Role.PRIMARY
            and not self._should_delete_form(form)
        ]
        if len(primaries) > 1:
            raise ValidationError(_("Make only one guardian the primary guardian."))


class GuardianForm(forms.ModelForm):
    """A guardian's details. A changed email is their login address too: refused here when
    another login or guardian has it (journey.portal.invitations.change_email saves it)."""

    class Meta:
        model = Guardian
        fields = ["center", "full_name", "email", "phone", "time_zone", "language"]

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if self.instance.pk and email != self.instance.email.lower():
            try:
                invitations.check_email_free(email, self.instance)
            except ValidationError as error:
                raise ValidationError(error.message_dict["email"]) from error
        return email


class MoveStageForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the journey's history."),
    )
    override_reason = forms.CharField(
        max_length=1000,
        label=_("Reason to skip unfinished required steps"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only when moving on before the required steps are done."),
    )

    def __init__(self, *args, journey, allowed, next_stage=None, **kwargs):
        """`allowed`: the stages the journey may move to now (journey.services.allowed_stages),
        the usual next one first and chosen already."""
        super().__init__(*args, **kwargs)
        labels = dict(Stage.choices)
        choices = [(stage, labels[stage]) for stage in allowed]
        if next_stage is None:
            # Nothing preselected: the browser would otherwise pick the first choice, which
            # may be a step back. Say what keeps the usual next stage away.
            choices.insert(0, ("", "---------"))
            self.fields["to_stage"].help_text = services.why_no_next_stage(journey)
        self.fields["to_stage"].choices = choices
        self.fields["to_stage"].initial = next_stage or ""


# Dates a person types that cannot be misread: ISO, or with the month's name (never 5/12/2026,
# which is May 12 in one country and December 5 in the next).
UNAMBIGUOUS_DATE_FORMATS = [
    "%Y-%m-%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%b %d, %Y",
]


class InfusionDateForm(forms.Form):
    infusion_date = forms.DateField(
        label=_("Infusion date"),
        required=False,
        input_formats=UNAMBIGUOUS_DATE_FORMATS,
        # A text box, not the browser's date picker: a picker sends an impossible date
        # (02/30/2026) as empty, which would clear the saved date instead of saying why.
        widget=forms.DateInput(
            format="%Y-%m-%d",
            attrs={"maxlength": 20, "placeholder": "2026-05-12", "autocomplete": "off"},
        ),
        error_messages={"invalid": _("Write the date as 2026-05-12 or 12 May 2026.")},
        help_text=_("As 2026-05-12 or 12 May 2026. Leave empty to clear the date."),
    )
    infusion_happened = forms.BooleanField(
        label=_("The infusion happened on this date"),
        required=False,
        help_text=_("Asked for a date in the past while the infusion is only scheduled."),
    )
    uncovered_ok = forms.BooleanField(
        label=_("Set it although no insurance approval covers this date"),
        required=False,
        help_text=_("Asked only when no approved prior authorization covers the new date."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the journey's history."),
    )


class UserAddForm(AdminUserCreationForm):
    """Create a login by email (the custom user has no username)."""

    class Meta:
        model = User
        fields = ("email", "full_name")
        field_classes = {}


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {}
