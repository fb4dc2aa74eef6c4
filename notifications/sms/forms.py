"""The portal's forms for a number to text: the number (any common way of writing it, stored in
E.164) and the 6-digit code."""

from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField


class NumberForm(forms.Form):
    number = PhoneNumberField(
        label=_("Mobile number"),
        help_text=_("Start with + and your country code, like +1 617 555 0100."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        error_messages={
            "invalid": _("This is not a mobile number we can text. Type it like +1 617 555 0100."),
            "required": _("Type your mobile number."),
        },
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("The 6-digit code we texted you"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={
            "invalid": _("Type the 6 digits of the code."),
            "required": _("Type the 6 digits of the code."),
        },
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()
