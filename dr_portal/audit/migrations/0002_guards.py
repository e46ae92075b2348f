"""Install the database guards that keep the audit tables append-only."""

from django.db import migrations


def install(apps, schema_editor):
    from dr_portal.audit import guards

    for statement in guards.install(schema_editor.connection):
        schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor):
    from dr_portal.audit import guards

    for statement in guards.uninstall(schema_editor.connection):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
