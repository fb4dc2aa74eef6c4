"""Portal access on the guardian admin: send or re-send an invitation, revoke it, revoke access.

Each is a list action and a button on the guardian's page (a small confirmation page that
POSTs). The decisions live in journey.portal.invitations; this module only wires them in.
"""

import logging
import smtplib

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from journey.models import Invitation, PortalAccessChange
from journey.portal import emails, invitations

log = logging.getLogger(__name__)


def send_invitation(request, guardian):
    """Invite and email; a mail failure is reported, and the coordinator can re-send."""
    invitation, raw = invitations.invite(guardian, by=request.user)
    try:
        emails.send_invitation(invitation, raw)
    except (smtplib.SMTPException, OSError):
        log.exception("Invitation email to guardian %s failed", guardian.pk)
        return False
    return True


class PortalAccessAdminMixin:
    """Mixed into GuardianAdmin."""

    actions = ["send_invitations", "revoke_invitations", "revoke_portal_access"]
    change_form_template = "admin/journey/guardian/change_form.html"

    def get_urls(self):
        url = path(
            "<path:object_id>/portal-access/",
            self.admin_site.admin_view(self.portal_access_view),
            name="journey_guardian_portal_access",
        )
        return [url, *super().get_urls()]

    @admin.display(description=gettext_lazy("portal"))
    def portal_status(self, guardian):
        """A word for the list and the page: access, invited, revoked or none."""
        if guardian.user_id and guardian.user.is_active:
            return _("can log in")
        if guardian.user_id:
            return _("access revoked")
        return _("no login")

    @admin.action(
        description=gettext_lazy("Send (or re-send) the portal invitation"), permissions=["change"]
    )
    def send_invitations(self, request, queryset):
        sent = failed = 0
        for guardian in queryset.select_related("center"):
            if send_invitation(request, guardian):
                sent += 1
            else:
                failed += 1
        if sent:
            msg = ngettext("%(n)d invitation sent.", "%(n)d invitations sent.", sent)
            self.message_user(request, msg % {"n": sent}, messages.SUCCESS)
        if failed:
            msg = ngettext(
                "%(n)d invitation could not be emailed; try re-sending.",
                "%(n)d invitations could not be emailed; try re-sending.",
                failed,
            )
            self.message_user(request, msg % {"n": failed}, messages.ERROR)

    @admin.action(
        description=gettext_lazy("Revoke the open invitation link"), permissions=["change"]
    )
    def revoke_invitations(self, request, queryset):
        count = sum(invitations.revoke_invitation(g, by=request.user) for g in queryset)
        msg = ngettext("%(n)d invitation revoked.", "%(n)d invitations revoked.", count)
        self.message_user(request, msg % {"n": count}, messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Revoke portal access (logs them out everywhere)"),
        permissions=["change"],
    )
    def revoke_portal_access(self, request, queryset):
        guardians = list(queryset.select_related("user"))
        for guardian in guardians:
            invitations.revoke_access(guardian, by=request.user)
        msg = ngettext(
            "Portal access revoked for %(n)d guardian.",
            "Portal access revoked for %(n)d guardians.",
            len(guardians),
        )
        self.message_user(request, msg % {"n": len(guardians)}, messages.SUCCESS)

    def portal_access_view(self, request, object_id):
        """The guardian page's button: status, then Send / Revoke link / Revoke access."""
        guardian = self.get_object(request, object_id)  # 404 outside the user's centers
        if not self.has_change_permission(request, guardian):
            return HttpResponseRedirect(reverse("admin:index"))
        change_url = reverse("admin:journey_guardian_change", args=[guardian.pk])
        if request.method == "POST":
            self._apply(request, guardian, request.POST.get("do", ""))
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "guardian": guardian,
            "title": _("Portal access"),
            "status": self.portal_status(guardian),
            "invitations": Invitation.objects.filter(guardian=guardian)[:10],
            "history": PortalAccessChange.objects.filter(guardian=guardian)
            .select_related("by")
            .order_by("-at", "-pk")[:20],
            "now": timezone.now(),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/journey/guardian/portal_access.html", context)

    def _apply(self, request, guardian, do):
        queryset = self.get_queryset(request).filter(pk=guardian.pk)
        action = {
            "send": self.send_invitations,
            "revoke_invitation": self.revoke_invitations,
            "revoke_access": self.revoke_portal_access,
        }.get(do)
        if action is None:
            self.message_user(request, _("Unknown action."), messages.ERROR)
        else:
            action(request, queryset)

    @admin.display(description=gettext_lazy("portal access"))
    def portal_access_link(self, guardian):
        if not guardian.pk:
            return "–"
        url = reverse("admin:journey_guardian_portal_access", args=[guardian.pk])
        return format_html(
            '{} · <a href="{}">{}</a>', self.portal_status(guardian), url, _("Manage")
        )
