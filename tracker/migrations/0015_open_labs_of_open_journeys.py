"""Open labs belong to open journeys, and a row's center is its journey's, held by the database.

1. Labs left open on journeys that had already ended are closed as ending a journey now does
   (tracker.services.journey_end), at the journey's end: missed if their window had closed by
   then, else cancelled.
2. On PostgreSQL, scheduled labs and results get a foreign key (journey_id, center_id) to the
   journey's (id, center_id) (the unique constraint journey_id_center, journey 0014), ON UPDATE
   CASCADE: the copy of the center cannot disagree with the journey, and a transfer's move
   carries it along. Any row that disagrees is set to its journey's center first. SQLite keeps the copy by code alone
   (tracker.models_center, tracker.services.transfers).
"""

from django.db import migrations

EXIT_STAGES = {  # the stage labels, as the stored reasons name them (English)
    "closed": "Closed (follow-up completed)",
    "withdrawn": "Withdrawn",
    "not_eligible": "Not eligible",
}
TABLES = {"tracker_scheduledlab": "scheduledlab", "tracker_labresult": "labresult"}
LAB, JOURNEY = '"tracker_scheduledlab"', '"journey_journey"'


def _close_labs(apps, schema_editor):
    """Open labs of ended journeys: missed if their window had closed by the journey's end
    (as they were), else cancelled, as ending a journey now does."""
    ended_on = f"CAST({JOURNEY}.closed_at AS date)"
    if schema_editor.connection.vendor == "sqlite":
        ended_on = f"date({JOURNEY}.closed_at)"
    label = " ".join(f"WHEN '{stage}' THEN '{text}'" for stage, text in EXIT_STAGES.items())
    label = f"(CASE {JOURNEY}.stage {label} END)"
    when = f"COALESCE({JOURNEY}.closed_at, CURRENT_TIMESTAMP)"
    stages = ", ".join(f"'{stage}'" for stage in EXIT_STAGES)
    of_ended = (
        f"FROM {JOURNEY} WHERE {JOURNEY}.id = {LAB}.journey_id AND {JOURNEY}.stage IN ({stages}) "
        f"AND {LAB}.done_at IS NULL AND {LAB}.missed_at IS NULL AND {LAB}.cancelled_at IS NULL"
    )
    schema_editor.execute(
        f"UPDATE {LAB} SET missed_at = {when}, "
        f"missed_reason = 'Not done before the journey ended: ' || {label} || '.' "
        f"{of_ended} AND {LAB}.window_end < {ended_on}"
    )
    schema_editor.execute(
        f"UPDATE {LAB} SET cancelled_at = {when}, "
        f"cancel_reason = 'The journey ended: ' || {label} || '.' {of_ended}"
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
        migrations.RunPython(_close_labs, migrations.RunPython.noop),
        migrations.RunPython(_foreign_keys, _drop_foreign_keys),
    ]
