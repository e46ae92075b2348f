"""Configure how an endpoint's traffic is moved (one audit event per change)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from dr_portal.audit.services import audit_append
from incidents.runs.drivers.base import DriverConfigInvalid
from incidents.runs.drivers.config import driver_config_validate
from incidents.runs.drivers.models import EndpointRoute
from inventory.models import Asset, AssetKind


@transaction.atomic
def endpoint_route_set(*, asset: Asset, driver: str, config: dict[str, Any], by: Any = None) -> EndpointRoute:
    if asset.kind != AssetKind.ENDPOINT:
        raise DriverConfigInvalid(f"{asset.name} is a {asset.kind}, not an endpoint: only endpoints carry traffic.")
    config = driver_config_validate(driver, config)
    route, _ = EndpointRoute.objects.update_or_create(
        asset=asset, defaults={"driver": driver, "config": config, "updated_at": timezone.now()}
    )
    audit_append(
        action="asset.traffic_driver_set",
        actor=by,
        system_actor="system:runs",
        obj=asset,
        payload={"driver": driver, "config": config},
    )
    return route
