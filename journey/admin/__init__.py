"""The coordinator admin: every page scoped to the user's centers (see scoping.py)."""

from . import (  # noqa: F401 (registers the admins)
    accounts,
    catalogue,
    coverage,
    custody,
    followup,
    journeys,
    patients,
    policy,
    staffing,
)
