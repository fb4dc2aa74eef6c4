"""The contact check's link (no login): "still correct" in one click; a change after login."""

from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache

from . import followup


@never_cache
def contact_check(request, token):
    """GET shows the details on file and one button; POST records "still correct". The
    signed token is the key; a mail scanner's GET changes nothing."""
    check = followup.check_from_token(token)
    if check is None:
        raise Http404
    if check == "expired":
        return render(request, "portal/contact_check_expired.html", status=410)
    guardian = check.guardian
    with translation.override(guardian.language):
        context = {"token": token, "guardian": guardian, "center": check.patient.center}
        if request.method == "POST":
            followup.confirm(check)
            return render(request, "portal/contact_check_done.html", context)
        context["answered"] = check.answered_at is not None
        return render(request, "portal/contact_check.html", context)
