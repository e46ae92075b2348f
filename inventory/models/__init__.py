"""The inventory's models, one module per concern; every name is re-exported here."""

from inventory.models.backups import *  # noqa: F403
from inventory.models.catalog import *  # noqa: F403
from inventory.models.plans import *  # noqa: F403
from inventory.models.readiness import *  # noqa: F403
from inventory.models.rollups import *  # noqa: F403
