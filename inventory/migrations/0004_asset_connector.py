"""Assets name the connector that captures them; existing sources map to filesystem or s3."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def map_source_uris(apps: Any, schema_editor: Any) -> None:
    asset_model = apps.get_model("inventory", "Asset")
    for asset in asset_model.objects.filter(connector="").exclude(source_uri=""):
        uri = asset.source_uri.strip()
        if uri.startswith("s3://"):
            bucket, _, prefix = uri[5:].partition("/")
            asset.connector, asset.connector_config = "s3", {"bucket": bucket, "prefix": prefix.strip("/")}
        else:
            asset.connector, asset.connector_config = "filesystem", {"path": uri}
        asset.save(update_fields=["connector", "connector_config"])


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_point_chunk_stats"),
    ]

    operations = [
        migrations.AddField(
            model_name="asset",
            name="connector",
            field=models.CharField(
                blank=True,
                help_text="How the source is captured: filesystem, s3, sqlite, postgres, redis, mlflow or vector.",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="asset",
            name="connector_config",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The connector's fields as JSON; secrets only as env:NAME or file:/path references.",
            ),
        ),
        migrations.RunPython(map_source_uris, migrations.RunPython.noop),
    ]
