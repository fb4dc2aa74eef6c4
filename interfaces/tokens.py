"""FHIR API tokens of lab systems: random, shown once, kept only as a SHA-256 hash.

A token names one LabSender, hence one center: what it sends is filed at that center only.
"""

import hashlib
import secrets

from django.utils import timezone

from .models import LabSender

PREFIX = "wpl_"


def _hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(lab, *, now=None):
    """A new token for the lab (the old one stops working); returned once, never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    lab.api_token_hash = _hash(token)
    lab.api_token_issued_at = now or timezone.now()
    lab.save(update_fields=["api_token_hash", "api_token_issued_at"])
    return token


def lab_for_token(token):
    """The active lab system holding this token, or None."""
    if not token or len(token) > 200:
        return None
    return (
        LabSender.objects.select_related("center")
        .filter(api_token_hash=_hash(token), active=True)
        .first()
    )
