"""The audit trail: one append-only table of who did what, when, before/after and why."""
