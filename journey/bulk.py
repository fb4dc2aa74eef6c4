"""Many rows at once, for a use case that writes a burst (a lab system's message of results).

create_all(model, rows): one INSERT for the rows, and each row's pre_save and post_save
signals sent as a save() would send them, so every listener (the audit trail) sees each row
created. records_together(): the audit records of the rows saved inside are written together,
in one INSERT when the block ends, in the same transaction; nothing is written if it fails.
update_all(model, rows, fields): one UPDATE, each row's signals sent as save(update_fields=)
would send them. journey imports nothing of `audit`: these signals are how it asks (audit listens).
"""

import contextlib

from django.db import router
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal

# Sent with: write (bool, at the end only: False when the block failed).
records_started = Signal()
records_ended = Signal()


def create_all(model, rows):
    """Insert new `rows` of `model` in one statement; their pks are set (PostgreSQL, SQLite)."""
    if not rows:
        return rows
    using = router.db_for_write(model)
    for row in rows:
        pre_save.send(sender=model, instance=row, raw=False, using=using, update_fields=None)
    model.objects.bulk_create(rows)
    for row in rows:
        row._state.adding, row._state.db = False, using
        post_save.send(
            sender=model, instance=row, created=True, update_fields=None, raw=False, using=using
        )
    return rows


def update_all(model, rows, fields):
    """Update `fields` of `rows` (saved rows of `model`) in one statement."""
    if not rows:
        return rows
    using, fields = router.db_for_write(model), frozenset(fields)
    for row in rows:
        pre_save.send(sender=model, instance=row, raw=False, using=using, update_fields=fields)
    model.objects.bulk_update(rows, fields)
    for row in rows:
        post_save.send(
            sender=model, instance=row, created=False, update_fields=fields, raw=False, using=using
        )
    return rows


@contextlib.contextmanager
def records_together():
    records_started.send(sender=None)
    try:
        yield
    except BaseException:
        records_ended.send(sender=None, write=False)
        raise
    records_ended.send(sender=None, write=True)
