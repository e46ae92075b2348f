"""The inventory's models, one module per concern; every name is re-exported here."""

from inventory.models.catalog import *  # noqa: F403
