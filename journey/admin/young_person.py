"""The patient page's "Invite <child> to their own account" button (issue 17): one form with
the young person's email, sent through journey.custody.services.invite_young_person (which
refuses a child under the center's own-account age). Center-scoped like the page itself: the
patient is looked up through the admin's queryset, so another center's coordinator gets 404.
The new guardian and link are audited (audit.registry) and the invitation is in the
guardian's portal access history."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journey.custody import services
from journey.models import Guardian


class YoungPersonInviteForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("The young person's own email address"), required=False
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=Guardian._meta.get_field("language").choices,
        initial=Guardian._meta.get_field("language").default,
    )


class YoungPersonInviteMixin:
    """Mixed into PatientAdmin."""

    def get_urls(self):
        url = path(
            "<path:object_id>/invite-young-person/",
            self.admin_site.admin_view(self.invite_young_person_view),
            name="journey_patient_invite_young_person",
        )
        return [url, *super().get_urls()]

    def invite_young_person_view(self, request, object_id):
        patient = self.get_object(request, object_id)  # None outside the user's centers
        if patient is None:
            raise Http404
        if not self.has_change_permission(request, patient):
            return HttpResponseRedirect(reverse("admin:index"))
        change_url = reverse("admin:journey_patient_change", args=[patient.pk])
        form = YoungPersonInviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                guardian, _invitation, _raw = services.invite_young_person(
                    patient,
                    email=form.cleaned_data["email"],
                    language=form.cleaned_data["language"],
                    by=request.user,
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                text = _("%(name)s is invited to their own account (%(email)s).")
                self.message_user(
                    request, text % {"name": patient.first_name, "email": guardian.email},
                    messages.SUCCESS,
                )  # fmt: skip
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": patient,
            "title": _("Invite %(name)s to their own account") % {"name": patient.first_name},
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/journey/patient/invite_young_person.html", context)


def _add_errors(form, error):
    """The service's errors by their field (email), or at the top of the form (the age)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
