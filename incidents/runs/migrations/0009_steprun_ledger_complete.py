"""StepRun.ledger_complete: whether a step's ledger may name everything its restores created.

Steps made from now on are complete (every attempt runs under the ledger). Existing steps are
not, unless their ledger holds entries (they ran under runs/0008's ledger): an empty one cannot
be told apart from a restore that ran before the ledger existed, so their clean-up removes
nothing unrecorded and the run page and audit log say what to check by hand.
"""

from django.db import migrations, models


def mark_recorded(apps, schema_editor):
    StepRun = apps.get_model("runs", "StepRun")
    rows = StepRun.objects.filter(kind="restore").values_list("pk", "ledger").iterator()
    recorded = [pk for pk, ledger in rows if ledger]
    for start in range(0, len(recorded), 500):
        StepRun.objects.filter(pk__in=recorded[start : start + 500]).update(ledger_complete=True)


class Migration(migrations.Migration):

    dependencies = [
        ("runs", "0008_steprun_ledger"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="ledger_complete",
            field=models.BooleanField(default=False),
            preserve_default=False,
        ),
        migrations.RunPython(mark_recorded, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="steprun",
            name="ledger_complete",
            field=models.BooleanField(default=True),
        ),
    ]
