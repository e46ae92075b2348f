"""Shared set-up for incident tests: an estate of assets and a declared incident with a commander."""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import User
from incidents.models import Incident
from incidents.services import incident_declare
from inventory.models import Asset
from tests.factories import AssetFactory, RecoveryPolicyFactory


@pytest.fixture
def fraud_model(db: None) -> Asset:
    return AssetFactory.create(
        name="fraud-model",
        tier=0,
        labels={"service": "fraud"},
        data_classes=["personal"],
        policy=RecoveryPolicyFactory.create(),
    )


@pytest.fixture
def feature_store(db: None) -> Asset:
    return AssetFactory.create(name="feature-store", tier=1, labels={"service": "features"})


@pytest.fixture
def incident(commander: User, fraud_model: Asset) -> Incident:
    return incident_declare(
        title="Fraud model serving wrong scores",
        category="integrity",
        assets=[fraud_model],
        by=commander,
        commander=commander,
    )
