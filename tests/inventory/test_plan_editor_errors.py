"""The plan editor says why a plan is refused, on the YAML field, instead of answering 500.

plan_save raises ValidationError keyed "steps" or "name"; the view handed it to form.add_error(None, …),
which refuses keys that are not form fields, so every plan the service refused (an unknown step field,
a name already taken) was a 500. Found by an administrator typing `params:` under a step.
"""

from __future__ import annotations

import pytest

from inventory.models import RecoveryPlan
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

PLAN = "name: {name}\nassets:\n- features\nsteps:\n- key: restore\n  kind: restore\n  asset: features\n{extra}"


def test_a_step_with_an_unknown_field_is_said_on_the_form(client_for, admin) -> None:
    AssetFactory.create(name="features")
    client = client_for(admin, mfa=True)
    definition = PLAN.format(name="In place", extra="  params:\n    replace: true\n")
    response = client.post("/inventory/plans/new/", {"definition": definition})
    assert response.status_code == 200
    assert "Step 1 (restore): unknown field &#x27;params&#x27;." in response.content.decode()
    assert not RecoveryPlan.objects.exists()


def test_a_name_already_taken_is_said_on_the_form(client_for, admin) -> None:
    AssetFactory.create(name="features")
    client = client_for(admin, mfa=True)
    definition = PLAN.format(name="In place", extra="")
    assert client.post("/inventory/plans/new/", {"definition": definition}).status_code == 302
    again = client.post("/inventory/plans/new/", {"definition": definition})
    assert again.status_code == 200
    assert "A plan named &#x27;In place&#x27; already exists." in again.content.decode()
    assert RecoveryPlan.objects.count() == 1
