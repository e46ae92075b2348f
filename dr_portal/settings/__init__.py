"""DR Portal settings: one package, driven by environment variables (see .env.example).

Each module is one concern and reads its own variables; one that needs another's
value imports it from there, so the order of these imports does not matter.
"""

from dr_portal.settings.audit import *  # noqa: F403
from dr_portal.settings.core import *  # noqa: F403
from dr_portal.settings.incidents import *  # noqa: F403
from dr_portal.settings.reports import *  # noqa: F403
from dr_portal.settings.schedule import *  # noqa: F403
from dr_portal.settings.verification import *  # noqa: F403
from dr_portal.settings.workers import *  # noqa: F403
