"""The asset's name and whether it has a policy, kept on its readiness row, and the indexes that serve the
readiness page's "worst first" and "nearest to its RPO" lists from that row alone."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def backfill(apps, schema_editor):
    """Every state's sort keys from its asset, in one UPDATE (the next assessment keeps them)."""
    Asset = apps.get_model("inventory", "Asset")
    own = Asset.objects.filter(pk=OuterRef("asset_id"))
    apps.get_model("inventory", "ReadinessState").objects.update(
        asset_name=Subquery(own.values("name")[:1]),
        has_policy=Exists(own.filter(policy__isnull=False)),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0011_backfill_readiness_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="readinessstate",
            name="asset_name",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="readinessstate",
            name="has_policy",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="readinessstate",
            index=models.Index(
                condition=models.Q(("has_policy", True), ("level__isnull", False), ("rpo_breach_at__isnull", True)),
                fields=["asset_name"],
                name="readiness_nearest_no_point",
            ),
        ),
        migrations.AddIndex(
            model_name="readinessstate",
            index=models.Index(
                condition=models.Q(("has_policy", True), ("level__isnull", False), ("rpo_breach_at__isnull", False)),
                fields=["rpo_breach_at", "asset_name"],
                name="readiness_nearest_rpo",
            ),
        ),
        migrations.AddIndex(
            model_name="readinessstate",
            index=models.Index(
                models.OrderBy(models.F("level"), descending=True),
                models.F("counted_tier"),
                models.F("asset_name"),
                condition=models.Q(("level__gt", 0)),
                name="readiness_worst_by_tier",
            ),
        ),
    ]
