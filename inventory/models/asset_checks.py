"""An asset's connector settings checked against its kind and its source (part of Asset.clean)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inventory.models.uri_sources import URI_CONNECTORS, connector_for_uri, uri_conflicts
from inventory.paths import connector_path_refusal

if TYPE_CHECKING:
    from inventory.models.catalog import Asset


def connector_errors(asset: Asset) -> dict[str, str]:
    """Field errors of the asset's connector and its config; fills a URI kind's config from its source."""
    from inventory.connectors import ConfigInvalid, connector_class

    if asset.connector_config is None:
        asset.connector_config = {}
    if asset.connector in URI_CONNECTORS and asset.source_uri:
        # For these kinds the source URI is the source: the config follows it. A config given
        # now (not the stored one, left behind by a new URI) must agree with it, and keeps
        # its other fields (an S3 endpoint, credential references); nothing is dropped unsaid.
        given = dict(asset.connector_config or {})
        kind, derived = connector_for_uri(asset.source_uri, given)
        if kind != asset.connector and given and asset._connector_given:
            # The request chose the other URI kind and filled in its fields: saving it as the
            # URI's kind would drop them, so say which kind the source makes it instead.
            what = "an S3 prefix" if kind == "s3" else "a folder"
            return {
                "connector": f"The source {asset.source_uri[:200]} is {what}, so its connector is {kind}, not "
                f"{asset.connector}: give a source of that kind, or leave out the connector config."
            }
        if kind == asset.connector and given != getattr(asset, "_loaded_connector_config", None):
            conflict = uri_conflicts(given, derived, asset.source_uri)
            if conflict:
                return {"connector_config": conflict}
            derived = {**given, **derived}
        asset.connector, asset.connector_config = kind, derived
    if not asset.connector:
        return {} if asset.connector_config in ({}, None) else {"connector": "Choose a connector for this config."}
    try:
        cls = connector_class(asset.connector)
    except ConfigInvalid as exc:
        return {"connector": str(exc)}
    try:
        cls.parse(asset.connector_config)
    except ConfigInvalid as exc:
        return {"connector_config": str(exc)}
    if asset.connector not in URI_CONNECTORS and asset.connector != "group":
        # What the connector will read must lie where a folder source may (checked again at backup).
        for path in cls(asset.connector_config).source_paths():
            why = connector_path_refusal(path)
            if why:
                return {"connector_config": f"{why} A backup reads only under SOURCE_ROOTS."}
    return {}
