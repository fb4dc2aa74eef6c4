"""Portal access use cases: invite, re-send, revoke an invitation, accept it, revoke access.

A link carries a random token; only its SHA-256 is stored (Invitation.token_hash). Sending a new
invitation revokes the open one, so at most one link works at a time (a partial unique
constraint holds that even for two coordinators clicking at once).
"""

import logging
import secrets
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.models import Guardian, Invitation, PortalAccessChange, User
from journey.models.accounts import hash_token

from . import emails

Action = PortalAccessChange.Action
log = logging.getLogger(__name__)


def _log(guardian, action, by, now):
    PortalAccessChange.objects.create(guardian=guardian, action=action, by=by, at=now)


def _revoke_open(guardian, by, now):
    revoked = Invitation.objects.filter(guardian=guardian).open().update(revoked_at=now)
    if revoked:
        _log(guardian, Action.INVITATION_REVOKED, by, now)
    return revoked


def invite(guardian, *, by, now=None):
    """Create a fresh invitation (the old link stops working). Returns (invitation, raw token)."""
    now = now or timezone.now()
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        Guardian.objects.select_for_update().get(pk=guardian.pk)
        _revoke_open(guardian, by, now)
        invitation = Invitation.objects.create(
            guardian=guardian,
            token_hash=hash_token(raw),
            email=guardian.email,
            created_by=by,
            created_at=now,
            expires_at=now + timedelta(days=settings.WAYPOINT_INVITATION_DAYS),
        )
        _log(guardian, Action.INVITED, by, now)
    return invitation, raw


def revoke_invitation(guardian, *, by, now=None):
    """Kill the open link, if any. Returns how many were revoked (0 or 1)."""
    now = now or timezone.now()
    with transaction.atomic():
        return _revoke_open(guardian, by, now)


def revoke_access(guardian, *, by, now=None):
    """Close the guardian's portal: no link works, the login is disabled, every session ends.

    set_unusable_password() changes the password hash, so the session auth hash Django keeps
    in each session no longer matches: existing sessions are logged out on their next request.
    """
    now = now or timezone.now()
    with transaction.atomic():
        _revoke_open(guardian, by, now)
        user = guardian.user
        if user is not None:
            user.is_active = False
            user.set_unusable_password()
            user.save(update_fields=["is_active", "password"])
        _log(guardian, Action.ACCESS_REVOKED, by, now)


def change_email(guardian, new_email, *, by, now=None):
    """A guardian's new email address is their login address too.

    One transaction: the guardian and their login take the address, the open invitation link
    stops working (it was sent to the old address), and so do password reset links (Django's
    reset token covers the login's email). After commit both addresses are told; the old one
    in case this was not the family's wish. Returns the old address ("" when unchanged).
    """
    new_email = new_email.strip().lower()
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Guardian.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=guardian.pk)
        )
        old_email = locked.email
        if new_email == old_email.lower():
            return ""
        check_email_free(new_email, locked)
        locked.email = new_email
        locked.save(update_fields=["email"])
        if locked.user is not None:
            locked.user.email = new_email
            locked.user.save(update_fields=["email"])
        _revoke_open(locked, by, now)
        transaction.on_commit(lambda: _tell_both(locked, old_email))
    guardian.email = new_email
    return old_email


def _tell_both(guardian, old_email):
    """After commit: a mail failure is logged, never turned into an error page (the change
    is saved and shown)."""
    try:
        emails.send_email_changed(guardian, old_email)
    except (smtplib.SMTPException, OSError):
        log.exception("Email-change notice for guardian %s failed", guardian.pk)


def check_email_free(new_email, guardian):
    """A ValidationError on "email" when another login or guardian has the address."""
    logins = User.objects.filter(email__iexact=new_email)
    if guardian.user_id:
        logins = logins.exclude(pk=guardian.user_id)
    others = Guardian.objects.filter(email__iexact=new_email).exclude(pk=guardian.pk)
    if logins.exists() or others.exists():
        raise ValidationError(
            {"email": _("This email address is already used by another login or guardian.")}
        )


def find_invitation(raw_token):
    """The invitation a link names, or None. Whether it still works is is_usable()."""
    if not raw_token or len(raw_token) > 100:
        return None
    return (
        Invitation.objects.select_related("guardian", "guardian__user", "guardian__center")
        .filter(token_hash=hash_token(raw_token))
        .first()
    )


def login_for(guardian):
    """The User an invitation will set the password of (unsaved when there is none yet)."""
    if guardian.user is not None:
        return guardian.user
    existing = User.objects.filter(email__iexact=guardian.email).first()
    if existing is not None:
        return existing
    return User(email=guardian.email.lower(), full_name=guardian.full_name)


def _check_can_link(user, guardian):
    if user.is_staff:
        raise ValidationError(
            _("This email address belongs to a care team login. Please ask your care team.")
        )
    other = (
        Guardian.objects.filter(user=user).exclude(pk=guardian.pk).exists() if user.pk else False
    )
    if other:
        raise ValidationError(
            _(
                "This email address is already used by another family login. "
                "Please ask your care team."
            )
        )


def accept(invitation, raw_password, *, now=None):
    """Set the password, link (or create) the guardian's login and use up the invitation.

    Raises ValidationError when the link no longer works or the login cannot be linked.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_usable(now):
            raise ValidationError(_("This link no longer works."), code="unusable")
        guardian = Guardian.objects.select_related("user").get(pk=locked.guardian_id)
        user = login_for(guardian)
        _check_can_link(user, guardian)
        user.is_active = True
        user.set_password(raw_password)
        if not user.pk:
            user.time_zone, user.language = guardian.time_zone, guardian.language
        user.save()
        if guardian.user_id != user.pk:
            guardian.user = user
            guardian.save(update_fields=["user"])
        locked.accepted_at = now
        locked.save(update_fields=["accepted_at"])
        _log(guardian, Action.ACCEPTED, user, now)
    return user
