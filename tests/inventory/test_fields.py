"""Every place that lists an entity's fields takes the list from inventory/fields.py."""

from __future__ import annotations

import pytest

from inventory.api_serializers import AssetIn, AssetOut, PolicyIn, PolicyOut, VaultOut
from inventory.fields import ASSET_FIELDS, CSV_COLUMNS, POLICY_FIELDS, VAULT_FIELDS
from inventory.forms import AssetForm, PolicyForm, VaultForm
from inventory.porting import export_csv, export_data
from tests.factories import AssetFactory


def test_forms_show_the_fields_in_the_one_order() -> None:
    form = AssetForm()
    # After the asset's own fields come only the connector's: its hidden kind and one input per config field.
    assert list(form.fields)[: len(ASSET_FIELDS)] == list(ASSET_FIELDS)
    assert set(list(form.fields)[len(ASSET_FIELDS) :]) == {"config_kind", *form.config_fields}
    assert list(PolicyForm().fields) == list(POLICY_FIELDS)
    assert list(VaultForm().fields) == list(VAULT_FIELDS)


def test_api_inputs_take_exactly_the_editable_fields_and_outputs_show_them_in_order() -> None:
    assert list(AssetIn().fields) == list(ASSET_FIELDS)
    assert [f for f in PolicyIn().fields if f in POLICY_FIELDS] == list(POLICY_FIELDS)
    for serializer, names in ((AssetOut, ASSET_FIELDS), (PolicyOut, POLICY_FIELDS), (VaultOut, VAULT_FIELDS)):
        shown = list(serializer().fields)
        assert [f for f in shown if f in names] == list(names)


@pytest.mark.django_db
def test_export_writes_the_fields_in_the_one_order() -> None:
    AssetFactory.create(name="fraud-model")
    data = export_data(sources=True)
    assert tuple(data["assets"][0]) == ASSET_FIELDS
    assert tuple(data["policies"][0]) == POLICY_FIELDS
    assert tuple(data["vaults"][0]) == VAULT_FIELDS
    assert tuple(export_csv().splitlines()[0].split(",")) == CSV_COLUMNS
