"""Import and export: all or nothing, errors naming line and field."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from dr_portal.audit.models import AuditEvent
from inventory.models import Asset, Dependency, RecoveryPolicy, Vault
from inventory.porting import ImportFailed, export_csv, export_yaml, import_file

pytestmark = pytest.mark.django_db

GOOD = """\
vaults:
  - name: eu-vault
    kind: filesystem
    region: eu-west-1
    worm_capable: true
    config: {path: vaults/eu}
policies:
  - name: gold
    strategy: hot_standby
    rto_minutes: 15
    rpo_minutes: 5
    mtd_minutes: 60
    backup_cadence_minutes: 5
    retention_days: 30
    worm_days: 7
    drill_cadence_days: 30
assets:
  - name: features
    kind: feature_store
    owner_team: risk
    tier: 0
    region: eu-west-1
    source_uri: /srv/features
    policy: gold
    vault: eu-vault
  - name: fraud-model
    kind: model
    owner_team: risk
    tier: 0
    region: eu-west-1
    source_uri: /srv/fraud
    data_classes: [personal]
    labels: {service: fraud}
    policy: gold
    vault: eu-vault
dependencies:
  - {upstream: features, downstream: fraud-model}
"""


def test_yaml_import_creates_everything_and_is_audited() -> None:
    summary = import_file(name="estate.yaml", data=GOOD.encode(), by=None)
    assert str(summary) == "created 1 vault, 1 policy, 2 assets, 1 dependency"
    assert Asset.objects.get(name="fraud-model").policy == RecoveryPolicy.objects.get(name="gold")
    assert Dependency.objects.count() == 1
    assert AuditEvent.objects.filter(action="inventory.imported").count() == 1
    again = import_file(name="estate.yaml", data=GOOD.encode(), by=None)
    assert str(again) == "updated 1 vault, 1 policy, 2 assets" or "nothing" in str(again) or "updated" in str(again)
    assert Asset.objects.count() == 2


def test_one_bad_row_imports_nothing_and_names_line_and_field() -> None:
    bad = GOOD.replace(
        "    tier: 0\n    region: eu-west-1\n    source_uri: /srv/fraud",
        "    tier: 7\n    region: eu-west-1\n    source_uri: /srv/fraud",
    )
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=bad.encode(), by=None)
    assert caught.value.errors == ["line 29, field tier: Ensure this value is less than or equal to 3."]
    assert not Asset.objects.exists() and not Vault.objects.exists() and not RecoveryPolicy.objects.exists()
    assert not AuditEvent.objects.exists()


def test_policy_rto_error_and_unknown_reference_are_named() -> None:
    bad = GOOD.replace("rto_minutes: 15", "rto_minutes: 90").replace(
        "vault: eu-vault\ndependencies", "vault: nowhere\ndependencies"
    )
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=bad.encode(), by=None)
    errors = caught.value.errors
    assert errors[0].startswith("line 10, field rto_minutes: The RTO (90 min) must be shorter")
    assert any("field policy: no policy named 'gold'" in e for e in errors)


def test_a_cycle_in_the_file_is_refused() -> None:
    cyclic = GOOD + "  - {upstream: fraud-model, downstream: features}\n"
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=cyclic.encode(), by=None)
    assert caught.value.errors == [
        "line 38, field upstream: This would make a cycle: fraud-model → features → fraud-model."
    ]


def test_csv_round_trip_and_bad_csv_row() -> None:
    import_file(name="estate.yaml", data=GOOD.encode(), by=None)
    text = export_csv()
    assert text.splitlines()[0].startswith("name,title,kind")
    assert "features,,feature_store" in text and ",features\n" in text
    bad = text + "new-one,,robot,risk,1,,eu-west-1,production,/srv/x,,,,,\n"
    with pytest.raises(ImportFailed) as caught:
        import_file(name="assets.csv", data=bad.encode(), by=None)
    assert caught.value.errors == ["line 4, field kind: Value 'robot' is not a valid choice."]
    assert not Asset.objects.filter(name="new-one").exists()


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(ImportFailed, match="line 3: not valid YAML"):
        import_file(name="x.yaml", data=b"assets:\n  - name: [unclosed\n", by=None)


def test_export_then_import_elsewhere_gives_the_same_yaml() -> None:
    import_file(name="estate.yaml", data=GOOD.encode(), by=None)
    exported = export_yaml(sources=True)
    Dependency.objects.all().delete()
    Asset.objects.all().delete()
    import_file(name="again.yaml", data=exported.encode(), by=None)
    assert export_yaml(sources=True) == exported


def test_management_commands(tmp_path, capsys) -> None:
    good = tmp_path / "estate.yaml"
    good.write_text(GOOD)
    call_command("inventory_import", str(good))
    assert "created 1 vault" in capsys.readouterr().out
    out = tmp_path / "out.csv"
    call_command("inventory_export", "--format", "csv", "-o", str(out))
    assert "fraud-model" in out.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind\nx,model\n")
    with pytest.raises(CommandError, match="missing column 'owner_team'"):
        call_command("inventory_import", str(bad))


def test_problems_are_listed_by_line_then_field() -> None:
    """Validation reports fields in the model's order; the file is read by line, so the list is too."""
    bad = """\
assets:
  - name: fraud-model
    tier: 9
    kind: spaceship
    owner_team: risk
    region: eu-west-1
    source_uri: /srv/fraud
  - name: other
    kind: model
    tier: 12
    owner_team: risk
    region: eu-west-1
    source_uri: /srv/other
"""
    with pytest.raises(ImportFailed) as caught:
        import_file(name="estate.yaml", data=bad.encode(), by=None)
    assert [e.split(":")[0] for e in caught.value.errors] == [
        "line 3, field tier",
        "line 4, field kind",
        "line 10, field tier",
    ]
    # Fields on one line (a CSV row) in field order; file-wide problems before any line.
    mixed = ImportFailed(["line 4, field vault: a", "line 2: b", "line 4, field kind: c", "The file: d"]).errors
    assert mixed == ["The file: d", "line 2: b", "line 4, field kind: c", "line 4, field vault: a"]
