"""Account emails: subject, text and HTML templates each; no health information at all."""

import zoneinfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation


def _render(name, context):
    subject = render_to_string(f"emails/accounts/{name}_subject.txt", context)
    text = render_to_string(f"emails/accounts/{name}.txt", context)
    html = render_to_string(f"emails/accounts/{name}.html", context)
    return " ".join(subject.split()), text, html


def send_invitation(invitation, raw_token):
    """Email the one-time link, in the guardian's language and time zone."""
    guardian = invitation.guardian
    link = settings.SITE_URL + reverse("accept_invitation", args=[raw_token])
    zone = zoneinfo.ZoneInfo(guardian.time_zone)
    with translation.override(guardian.language), timezone.override(zone):
        context = {
            "name": guardian.full_name,
            "center": guardian.center.name,
            "link": link,
            "expires_at": invitation.expires_at,
            "site_url": settings.SITE_URL,
            "language": guardian.language,
        }
        subject, text, html = _render("invitation", context)
    message = EmailMultiAlternatives(subject, text, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    message.send()


def send_email_changed(guardian, old_email):
    """Tell the old and the new address that the login address changed: no health
    information, no link that logs in; the old address may not have wanted it."""
    zone = zoneinfo.ZoneInfo(guardian.time_zone)
    with translation.override(guardian.language), timezone.override(zone):
        for address in (old_email, guardian.email):
            context = {
                "name": guardian.full_name,
                "center": guardian.center.name,
                "new_email": guardian.email,
                "is_old": address == old_email,
                "site_url": settings.SITE_URL,
                "language": guardian.language,
            }
            subject, text, html = _render("email_changed", context)
            message = EmailMultiAlternatives(subject, text, to=[address])
            message.attach_alternative(html, "text/html")
            message.send()
