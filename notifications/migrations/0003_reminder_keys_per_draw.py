"""Lab reminders and overdue nudges are now one per draw: re-key the rows written per test."""

from django.db import migrations


def forwards(apps, schema_editor):
    from notifications.rekey import rekey_per_draw

    Reminder = apps.get_model("notifications", "Reminder")
    rekey_per_draw(Reminder, Reminder.objects.all())


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_reminder_escalated_lab")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
