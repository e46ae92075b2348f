"""The portal's own disaster recovery: its database, configuration and audit evidence in a vault."""
