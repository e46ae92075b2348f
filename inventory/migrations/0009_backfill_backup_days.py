"""Fill the daily backup roll-ups from the backups already finished (inventory.services.rollups)."""

from django.db import migrations


def backfill(apps, schema_editor):
    from inventory.services.rollups import backup_days_rebuild

    backup_days_rebuild(apps.get_model("inventory", "Backup"), apps.get_model("inventory", "BackupDay"))


def empty(apps, schema_editor):
    apps.get_model("inventory", "BackupDay").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0008_backup_day_rollups"),
    ]

    operations = [
        migrations.RunPython(backfill, empty),
    ]
