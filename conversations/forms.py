"""The family's message forms: a new thread (subject and message) and a reply, each with an
optional photo or PDF."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import MAX_BODY, MAX_SUBJECT


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_BODY}),
    )
    upload = forms.FileField(
        label=_("Attach a photo or PDF (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            try:
                services.upload_type(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["upload"]) from exc
        return upload

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("body", "").strip() and not cleaned.get("upload"):
            self.add_error("body", _("Write a message or attach a file."))
        return cleaned


class NewThreadForm(MessageForm):
    subject = forms.CharField(
        label=_("Subject"),
        max_length=MAX_SUBJECT,
        widget=forms.TextInput(attrs={"maxlength": MAX_SUBJECT}),
    )
    field_order = ["subject", "body", "upload"]
