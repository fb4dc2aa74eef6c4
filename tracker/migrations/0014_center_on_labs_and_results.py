"""The journey's center copied onto scheduled labs and results, for the worklist's indexes.

The column is added without its foreign key, filled with one UPDATE ... FROM per table (a hash
join: no per-row lookup, and no foreign-key trigger queued per row, which would also stop the
later ALTER TABLE in this transaction), then made NOT NULL with its foreign key (checked once).
UPDATE ... FROM runs on PostgreSQL and SQLite (3.33+).
"""

import django.db.models.deletion
from django.db import migrations, models

OPEN_Q = models.Q(cancelled_at__isnull=True, done_at__isnull=True, missed_at__isnull=True)
REVIEW_Q = models.Q(
    entered_in_error_at__isnull=True,
    flag__in=["low", "high", "critical_low", "critical_high"],
    preliminary=False,
    reviewed_at__isnull=True,
    superseded_at__isnull=True,
)


def _fill(table):
    return migrations.RunSQL(
        f'UPDATE "{table}" SET "center_id" = "journey_journey"."center_id" '
        f'FROM "journey_journey" WHERE "journey_journey"."id" = "{table}"."journey_id"',
        migrations.RunSQL.noop,
    )


def _center(**options):
    return models.ForeignKey(
        editable=False,
        db_index=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="journey.center",
        **options,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("journey", "0012_staffhandover_items"),
        ("tracker", "0013_worklist_lab_indexes"),
    ]

    operations = [
        migrations.AddField("scheduledlab", "center", _center(null=True, db_constraint=False)),
        migrations.AddField("labresult", "center", _center(null=True, db_constraint=False)),
        _fill("tracker_scheduledlab"),
        _fill("tracker_labresult"),
        migrations.AlterField("scheduledlab", "center", _center()),
        migrations.AlterField("labresult", "center", _center()),
        # The worklist now reads a center's rows from the indexes below (a superuser's: each
        # center's in turn); nothing else reads these (the reminders sweep reads
        # scheduledlab_open_journey).
        migrations.RemoveIndex("labresult", "labresult_awaiting_review"),
        migrations.RemoveIndex("labresult", "labresult_review_journey"),
        migrations.RemoveIndex("scheduledlab", "scheduledlab_open_due"),
        migrations.RemoveIndex("scheduledlab", "scheduledlab_open_window"),
        migrations.AddIndex(
            "scheduledlab",
            models.Index(
                fields=["center", "window_end"],
                include=("journey", "due_on", "window_start"),
                condition=OPEN_Q,
                name="scheduledlab_center_overdue",
            ),
        ),
        migrations.AddIndex(
            "scheduledlab",
            models.Index(
                fields=["center", "due_on"],
                include=("journey", "window_end"),
                condition=OPEN_Q,
                name="scheduledlab_center_due",
            ),
        ),
        migrations.AddIndex(
            "labresult",
            models.Index(
                fields=["center", "collected_at"],
                include=("journey", "flag", "id"),
                condition=REVIEW_Q,
                name="labresult_center_review",
            ),
        ),
    ]
