"""The one settings module, in sections by concern; each section reads its own environment variables."""

from dr_portal.settings.core import *  # noqa: F403
