"""Links on the portal's pages, reversed once per process for each URL name.

A child page prints about fifteen links (the account menu, the child's pages), and reverse()
matches the URLconf's patterns anew on every call: about a third of the cost of the page's
frame. A portal URL takes at most one argument (a child's public id), so each name is reversed
once with a placeholder id and the real id put in its place.

This keeps no data: only the shape of the URLconf (the same for every user), keyed by the
URLconf and the script prefix in force, so a test that swaps the URLconf gets its own links.
"""

import uuid

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# A version-4 UUID no real id will be equal to; only its place in the URL matters.
_PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-00000000f00d")
_SHAPES = {}


def url(name, public_id=None):
    """reverse(name) or reverse(name, args=[public_id]); NoReverseMatch as reverse raises it."""
    key = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name, public_id is None)
    shape = _SHAPES.get(key)
    if shape is None:
        args = [] if public_id is None else [_PLACEHOLDER]
        shape = _SHAPES[key] = reverse(name, args=args)
    if public_id is None:
        return shape
    return shape.replace(str(_PLACEHOLDER), str(public_id))
