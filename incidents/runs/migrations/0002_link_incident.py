# The incidents app's model is here now: a run's plain incident id becomes a foreign key.

import django.db.models.deletion
from django.db import migrations, models


def link(apps, schema_editor):
    Run = apps.get_model("runs", "RecoveryRun")
    Incident = apps.get_model("incidents", "Incident")
    for run in Run.objects.exclude(incident_uuid=None):
        incident = Incident.objects.filter(public_id=run.incident_uuid).first()
        if incident is not None:
            Run.objects.filter(pk=run.pk).update(incident=incident)


def unlink(apps, schema_editor):
    Run = apps.get_model("runs", "RecoveryRun")
    for run in Run.objects.exclude(incident=None).select_related("incident"):
        Run.objects.filter(pk=run.pk).update(incident_uuid=run.incident.public_id)


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0001_initial"),
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="recoveryrun", old_name="incident_id", new_name="incident_uuid"),
        migrations.AddField(
            model_name="recoveryrun",
            name="incident",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="recovery_runs",
                to="incidents.incident",
            ),
        ),
        migrations.RunPython(link, unlink),
        migrations.RemoveField(model_name="recoveryrun", name="incident_uuid"),
        migrations.RemoveField(model_name="recoveryrun", name="incident_kind"),
    ]
