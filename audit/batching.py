"""Audit records held while a use case writes a burst of rows (journey.bulk.records_together),
then written in one INSERT inside the same transaction; dropped if the block failed.

A stack, so a block inside another writes with the outer one."""

import contextvars

from journey import bulk

_held = contextvars.ContextVar("audit_held_records", default=None)


def holding():
    """The list records go into now, or None (written one by one, as usual)."""
    stack = _held.get()
    return stack[-1] if stack else None


def _started(sender, **kwargs):
    _held.set([*(_held.get() or []), []])


def _ended(sender, write, **kwargs):
    from .models import AuditRecord

    stack = list(_held.get() or [])
    if not stack:
        return
    records = stack.pop()
    if stack:  # an inner block: its records go with the outer one's
        stack[-1].extend(records if write else [])
    elif write and records:
        AuditRecord.objects.bulk_create(records)
    _held.set(stack)


def connect():
    bulk.records_started.connect(_started, dispatch_uid="audit_records_started")
    bulk.records_ended.connect(_ended, dispatch_uid="audit_records_ended")
