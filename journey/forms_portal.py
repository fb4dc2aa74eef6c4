"""Family portal forms: they parse and validate; journey.portal.invitations decides."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _
from django_otp import match_token


class LoginForm(AuthenticationForm):
    """Log in with the email address; case and spaces do not matter."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That email and password do not match. Check both and try again. "
            "Passwords are case-sensitive."
        ),
        "inactive": _("This login is closed. Please ask your care team."),
    }

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class AcceptInvitationForm(SetPasswordForm):
    """Choose a password (checked by the project's password rules) to accept an invitation."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = _("Choose a password")
        self.fields["new_password2"].label = _("Type the same password again")

    def save(self, commit=True):
        """The invitation service sets the password; this form only validates it."""
        raise NotImplementedError("Use journey.portal.invitations.accept().")


class StaffResetPasswordForm(SetPasswordForm):
    """A care-team login's new password by email link also takes a second-factor code: a
    staff password changes only with the second factor passed."""

    token = forms.CharField(
        label=_("Code from your authenticator app (or a backup code)"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    field_order = ["token", "new_password1", "new_password2"]

    def clean_token(self):
        token = self.cleaned_data["token"].strip().replace(" ", "").lower()
        if match_token(self.user, token) is None:
            raise forms.ValidationError(_("That code did not work. Try the current one."))
        return token
