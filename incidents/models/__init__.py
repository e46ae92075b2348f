"""Incident command's models, one module per concern; every name is re-exported here.

The timeline is not stored here: it is the audit events carrying an incident's
`public_id` (see incidents/selectors.py).
"""

from incidents.models.alerts import *  # noqa: F403
from incidents.models.assessments import *  # noqa: F403
from incidents.models.drills import *  # noqa: F403
from incidents.models.incident import *  # noqa: F403
from incidents.models.notifications import *  # noqa: F403
from incidents.models.reports import *  # noqa: F403
