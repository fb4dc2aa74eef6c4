"""The coordinator admin: every page scoped to the user's centers (see scoping.py)."""

from . import accounts, catalogue, coverage, followup, journeys, patients, policy, staffing  # noqa: F401  (registers the admins)
