"""The family portal and account pages: thin views over journey.portal and journey.access."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from . import access
from .forms import add_service_errors
from .forms_portal import AcceptInvitationForm, LoginForm, StaffResetPasswordForm
from .portal import custody, invitations, pages, words
from .security.admin_site import is_verified, staff_home

BACKEND = "journey.security.backends.WaypointBackend"


def guardian_required(view):
    """Logged in as a guardian. Staff go to their worklist; an unlinked login sees a plain
    page."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_staff:
            return redirect(staff_home())
        if getattr(request, "guardian", None) is None:
            return render(request, "portal/not_linked.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


@guardian_required
def home(request):
    children = pages.children_for_home(request.user)
    return render(request, "portal/home.html", {"children": children})


@guardian_required
def child(request, public_id):
    patient, view = pages.child_page(request.user, public_id)
    context = {"child": patient, "view": view, "page": "child"}
    return render(request, "portal/child.html", context)


@guardian_required
def people(request, public_id):
    patient = access.get_child_or_404(request.user, public_id)
    now = timezone.now()
    guardianships, team = pages.people_for(patient, now)
    context = {"child": patient, "guardianships": guardianships, "team": team, "page": "people"}
    context["access"] = custody.changes_for(patient, now)
    return render(request, "portal/people.html", context)


@guardian_required
def card(request, public_id):
    patient, shown = pages.card_page(request.user, public_id)
    context = {"child": patient, "page": "card", **shown}
    shown = words.signs_due(context["journey"], timezone.localdate())
    context["urgent"] = words.urgent_lines(context["therapy"], get_language()) if shown else []
    context["born"] = words.day(patient.date_of_birth)
    return render(request, "portal/card.html", context)


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        """Staff land on their worklist (after the second factor), families on the portal."""
        if self.request.user.is_staff:
            return staff_home()
        return super().get_default_redirect_url()


class PasswordChangeView(auth_views.PasswordChangeView):
    """A care-team login changes its password only in a session that passed the second
    factor; otherwise the code is asked first, then this page again."""

    template_name = "registration/change_password.html"
    success_url = reverse_lazy("password_change_done")

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.is_staff and not is_verified(user):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('two_factor:verify')}?{query}")
        return super().dispatch(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The emailed link: a care-team login also gives a second-factor code."""

    template_name = "registration/reset_password_confirm.html"

    def get_form_class(self):
        if self.user is not None and self.user.is_staff:
            return StaffResetPasswordForm
        return super().get_form_class()


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/reset_password.html"
    subject_template_name = "emails/accounts/password_reset_subject.txt"
    email_template_name = "emails/accounts/password_reset.txt"
    html_email_template_name = "emails/accounts/password_reset.html"

    @property
    def extra_email_context(self):
        return {"site_url": settings.SITE_URL}


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def accept_invitation(request, token):
    """A one-time link: choose a password, then land logged in on the portal."""
    invitation = invitations.find_invitation(token)
    if invitation is None or not invitation.is_usable():
        return render(request, "registration/invitation_invalid.html", status=410)
    user = invitations.login_for(invitation.guardian)
    form = AcceptInvitationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept(invitation, form.cleaned_data["new_password1"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, _("Welcome. Your password is set."))
            return redirect("portal:home")
    context = {"form": form, "invitation": invitation}
    return render(request, "registration/accept_invitation.html", context)
