"""Open labs belong to open journeys, and a row's center is its journey's, held by the database.

1. Labs left open on journeys that had already ended are cancelled as ending a journey now
   does (tracker.services.journey_end), at the journey's end.
2. On PostgreSQL, scheduled labs and results get a foreign key (journey_id, center_id) to the
   journey's (id, center_id) (journey_id_center), ON UPDATE CASCADE: the copy of the center
   cannot disagree with the journey, and a transfer's move carries it along. Any row that
   disagrees is set to its journey's center first. SQLite keeps the copy by code alone
   (tracker.models_center, tracker.services.transfers).
"""

from django.db import migrations

EXIT_STAGES = ("closed", "withdrawn", "not_eligible")
TABLES = {"tracker_scheduledlab": "scheduledlab", "tracker_labresult": "labresult"}


def _cancel_sql():
    stages = ", ".join(f"'{stage}'" for stage in EXIT_STAGES)
    return (
        'UPDATE "tracker_scheduledlab" SET "cancelled_at" = COALESCE('
        '"journey_journey"."closed_at", CURRENT_TIMESTAMP), '
        "\"cancel_reason\" = 'The journey ended.' "
        'FROM "journey_journey" WHERE "journey_journey"."id" = "tracker_scheduledlab"."journey_id" '
        f'AND "journey_journey"."stage" IN ({stages}) '
        'AND "tracker_scheduledlab"."done_at" IS NULL AND "tracker_scheduledlab"."missed_at" IS NULL '
        'AND "tracker_scheduledlab"."cancelled_at" IS NULL'
    )


def _foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Checked at once: a deferred check left pending by the UPDATE would stop ALTER TABLE.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table, name in TABLES.items():
        schema_editor.execute(
            f'UPDATE "{table}" SET "center_id" = "journey_journey"."center_id" '
            f'FROM "journey_journey" WHERE "journey_journey"."id" = "{table}"."journey_id" '
            f'AND "{table}"."center_id" <> "journey_journey"."center_id"'
        )
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}_center_is_journeys" '
            'FOREIGN KEY ("journey_id", "center_id") '
            'REFERENCES "journey_journey" ("id", "center_id") '
            "ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED"
        )


def _drop_foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name in TABLES.items():
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}_center_is_journeys"')


class Migration(migrations.Migration):
    dependencies = [
        ("journey", "0014_id_center_unique"),
        ("tracker", "0014_center_on_labs_and_results"),
    ]

    operations = [
        migrations.RunSQL(_cancel_sql(), migrations.RunSQL.noop),
        migrations.RunPython(_foreign_keys, _drop_foreign_keys),
    ]
