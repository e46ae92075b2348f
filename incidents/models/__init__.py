"""Incident command's models, one module per concern; every name is re-exported here."""

from incidents.models.incident import *  # noqa: F403
