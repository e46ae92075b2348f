"""Fill the readiness roll-ups from the stored readiness (inventory.services.readiness_groups)."""

from django.db import migrations


def backfill(apps, schema_editor):
    from inventory.services.readiness_groups import readiness_groups_rebuild

    readiness_groups_rebuild(
        apps.get_model("inventory", "ReadinessState"),
        apps.get_model("inventory", "ReadinessGroup"),
        apps.get_model("inventory", "Asset"),
    )


def empty(apps, schema_editor):
    apps.get_model("inventory", "ReadinessGroup").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0010_readiness_groups"),
    ]

    operations = [
        migrations.RunPython(backfill, empty),
    ]
