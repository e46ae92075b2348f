"""Each day's readiness samples summed per tier (ReadinessScoreDay), so the score trend reads a few rows a
day instead of every asset's sample; existing samples are counted under their asset's present tier."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    from inventory.verification.samples import readiness_score_days_rebuild

    Sample = apps.get_model("verification", "ReadinessSample")
    own = apps.get_model("inventory", "Asset").objects.filter(pk=OuterRef("asset_id"))
    Sample.objects.update(tier=Subquery(own.values("tier")[:1]))
    readiness_score_days_rebuild(Sample, apps.get_model("verification", "ReadinessScoreDay"))


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0003_evidence_parts"),
    ]

    operations = [
        migrations.AddField(
            model_name="readinesssample",
            name="tier",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="ReadinessScoreDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("tier", models.PositiveSmallIntegerField()),
                ("count", models.PositiveIntegerField(default=0)),
                (
                    "total",
                    models.PositiveBigIntegerField(default=0, help_text="The sum of the day's scores of the tier."),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("day", "tier"), name="readiness_score_day_unique")],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
