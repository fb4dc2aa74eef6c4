"""The coordinator admin: every page scoped to the user's centers (see scoping.py)."""

from . import accounts, catalogue, custody, journeys, patients, policy  # noqa: F401 (registers)
