"""The family portal's reminder forms: they parse and validate; notifications.services saves.

Every field error is written for a tired parent: what to type, not what went wrong inside.
"""

import functools
import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MAX_SNOOZE_DAYS, ChannelChoice

# (zone, label): the zones most families will pick; the field accepts any IANA zone. The
# label holds the city and country so a search ("london", "mexico") finds it in the list.
COMMON_ZONES = [
    ("America/New_York", _("New York, Eastern time (USA, Canada)")),
    ("America/Chicago", _("Chicago, Central time (USA, Canada)")),
    ("America/Denver", _("Denver, Mountain time (USA, Canada)")),
    ("America/Phoenix", _("Phoenix, Arizona (USA)")),
    ("America/Los_Angeles", _("Los Angeles, Pacific time (USA, Canada)")),
    ("America/Anchorage", _("Anchorage, Alaska (USA)")),
    ("Pacific/Honolulu", _("Honolulu, Hawaii (USA)")),
    ("America/Puerto_Rico", _("San Juan (Puerto Rico)")),
    ("America/Halifax", _("Halifax, Atlantic time (Canada)")),
    ("America/Toronto", _("Toronto (Canada)")),
    ("America/Vancouver", _("Vancouver (Canada)")),
    ("America/Mexico_City", _("Mexico City (Mexico)")),
    ("America/Bogota", _("Bogotá (Colombia)")),
    ("America/Lima", _("Lima (Peru)")),
    ("America/Santiago", _("Santiago (Chile)")),
    ("America/Argentina/Buenos_Aires", _("Buenos Aires (Argentina)")),
    ("America/Sao_Paulo", _("São Paulo (Brazil)")),
    ("Europe/London", _("London (United Kingdom)")),
    ("Europe/Dublin", _("Dublin (Ireland)")),
    ("Europe/Lisbon", _("Lisbon (Portugal)")),
    ("Europe/Madrid", _("Madrid (Spain)")),
    ("Europe/Paris", _("Paris (France)")),
    ("Europe/Berlin", _("Berlin (Germany)")),
    ("Europe/Rome", _("Rome (Italy)")),
    ("Europe/Athens", _("Athens (Greece)")),
    ("Europe/Istanbul", _("Istanbul (Türkiye)")),
    ("Africa/Johannesburg", _("Johannesburg (South Africa)")),
    ("Africa/Lagos", _("Lagos (Nigeria)")),
    ("Asia/Dubai", _("Dubai (United Arab Emirates)")),
    ("Asia/Jerusalem", _("Jerusalem (Israel)")),
    ("Asia/Kolkata", _("India")),
    ("Asia/Manila", _("Manila (Philippines)")),
    ("Asia/Shanghai", _("China")),
    ("Asia/Tokyo", _("Tokyo (Japan)")),
    ("Australia/Sydney", _("Sydney (Australia)")),
    ("Pacific/Auckland", _("Auckland (New Zealand)")),
    ("UTC", _("UTC (world time)")),
]

LEAD_CHOICES = [
    (0, _("The same day")),
    (1, _("1 day before")),
    (2, _("2 days before")),
    (3, _("3 days before")),
]


@functools.cache
def _zones_by_lower_name():
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def known_zone(value):
    """The IANA zone name for `value` (any letter case), or None if zoneinfo does not know it."""
    name = _zones_by_lower_name().get(value.strip().lower())
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name


def zone_choices(current):
    """The common zones, plus the guardian's own zone when it is not one of them."""
    names = {name for name, _label in COMMON_ZONES}
    extra = [(current, current)] if current and current not in names else []
    return extra + COMMON_ZONES


class ChannelField(forms.ChoiceField):
    """Email, text or both for one kind of message; left out (an older page): email."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=ChannelChoice.choices, required=False, widget=forms.RadioSelect, **kwargs
        )

    def clean(self, value):
        return super().clean(value) or ChannelChoice.EMAIL


class ReminderSettingsForm(forms.Form):
    """One guardian's reminder choices for one child, and their own time zone."""

    lab_reminders = forms.BooleanField(
        label=_("Before a lab test or a clinic visit"), required=False
    )
    overdue_nudges = forms.BooleanField(
        label=_("When a lab test is late (not done yet)"), required=False
    )
    stage_notes = forms.BooleanField(
        label=_("When the journey moves to a new stage"), required=False
    )
    step_reminders = forms.BooleanField(
        label=_("When a step for the family is coming up (like a form to bring)"),
        required=False,
    )
    lab_channel = ChannelField(label=_("Lab reminders"))
    messages_channel = ChannelField(label=_("Messages waiting for you (like a step to do)"))
    stage_channel = ChannelField(label=_("News about a new stage"))
    lead_days = forms.TypedChoiceField(
        label=_("How early"),
        choices=LEAD_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose the same day, or 1, 2 or 3 days before.")},
    )
    local_hour = forms.IntegerField(
        label=_("At what hour (0 to 23)"),
        help_text=_("9 means 9 in the morning. 18 means 6 in the evening."),
        min_value=0,
        max_value=23,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        error_messages={
            "invalid": _("Type a whole number of hours, from 0 to 23."),
            "required": _("Type an hour from 0 to 23."),
            "min_value": _("Type an hour from 0 to 23."),
            "max_value": _("Type an hour from 0 to 23. For midnight, type 0."),
        },
    )
    quiet_start = forms.TimeField(
        label=_("No emails from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("Type a time like 21:00.")},
    )
    quiet_end = forms.TimeField(
        label=_("Until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("Type a time like 07:00.")},
    )
    minimal = forms.BooleanField(
        label=_("Short emails: no name and no date, only “log in to see”"), required=False
    )
    time_zone = forms.CharField(
        label=_("Your time zone"),
        help_text=_(
            "Start typing your city or country and pick it from the list. "
            "This is used for all your children's emails."
        ),
        max_length=64,
        widget=forms.TextInput(
            attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}
        ),
        error_messages={"required": _("Choose your time zone from the list.")},
    )

    def clean_time_zone(self):
        name = known_zone(self.cleaned_data["time_zone"])
        if name is None:
            raise forms.ValidationError(
                _("We do not know this time zone. Pick one from the list, like America/New_York."),
                code="unknown_zone",
            )
        return name

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if start is not None and end is None and "quiet_end" not in self.errors:
            self.add_error("quiet_end", _("Add the time the quiet hours end, or clear both."))
        if end is not None and start is None and "quiet_start" not in self.errors:
            self.add_error("quiet_start", _("Add the time the quiet hours start, or clear both."))
        if start is not None and start == end:
            self.add_error("quiet_end", _("The quiet hours start and end at the same time."))
        return data

    @classmethod
    def for_preference(cls, pref, time_zone, **kwargs):
        initial = {name: getattr(pref, name) for name in cls.preference_fields()}
        initial["time_zone"] = time_zone
        return cls(initial=initial, **kwargs)

    @classmethod
    def preference_fields(cls):
        return [name for name in cls.base_fields if name != "time_zone"]

    def preference_values(self):
        return {name: self.cleaned_data[name] for name in self.preference_fields()}


class SnoozeForm(forms.Form):
    days = forms.IntegerField(
        label=_("Pause these emails for how many days (1 to 7)?"),
        min_value=1,
        max_value=MAX_SNOOZE_DAYS,
        initial=3,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        error_messages={
            "invalid": _("Type a whole number of days, from 1 to 7."),
            "required": _("Type a number of days, from 1 to 7."),
            "min_value": _("Type a number of days, from 1 to 7."),
            "max_value": _("You can pause these emails for %(limit_value)s days at most."),
        },
    )
