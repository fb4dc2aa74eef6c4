"""Re-key the outbox rows written one per test to the one-per-draw keys (migration 0003).

Before, a lab reminder or overdue nudge was keyed by its scheduled row ("...:lab17:..."); now by
its draw ("...:draw4.20250310:..."). Without this, a draw reminded under the old keys would be
planned again under the new one and the family would get a second email for it. Per new key
one row takes it: the one furthest along (sent before in flight before failed before pending
before cancelled); its siblings keep their old keys (the sweep cancels the pending ones).
"""

from collections import defaultdict

PER_DRAW_KINDS = ("lab_reminder", "overdue_nudge", "overdue_other_guardian", "overdue_coordinator")
RANK = {"sent": 0, "sending": 1, "failed": 2, "pending": 3, "cancelled": 4}
BATCH = 1000


def draw_key(old_key, journey_id, due_on):
    """recipient:kind:lab<id>:day -> recipient:kind:draw<journey>.<due day>:day."""
    recipient, kind, _subject, day = old_key.split(":")
    return f"{recipient}:{kind}:draw{journey_id}.{due_on:%Y%m%d}:{day}"


def rekey_per_draw(reminder_model, rows):
    """Give each draw's furthest-along row the new key; returns how many rows were re-keyed."""
    old = rows.filter(kind__in=PER_DRAW_KINDS, key__contains=":lab", scheduled_lab__isnull=False)
    groups = defaultdict(list)
    values = old.values_list(
        "pk", "key", "status", "scheduled_lab__journey_id", "scheduled_lab__due_on"
    )
    for pk, key, status, journey_id, due_on in values.iterator(chunk_size=BATCH):
        groups[draw_key(key, journey_id, due_on)].append((RANK.get(status, 5), pk))
    taken = _taken(reminder_model, list(groups))
    changes = [(min(rows)[1], key) for key, rows in groups.items() if key not in taken]
    for start in range(0, len(changes), BATCH):
        batch = [reminder_model(pk=pk, key=key) for pk, key in changes[start : start + BATCH]]
        reminder_model.objects.bulk_update(batch, ["key"])
    return len(changes)


def _taken(reminder_model, keys):
    """Which of these keys a row already holds (a sweep after the deploy, a second run)."""
    taken = set()
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        taken |= set(reminder_model.objects.filter(key__in=chunk).values_list("key", flat=True))
    return taken
