"""The incident cockpit: what needs a person now, the state of recovery in the header, a readable timeline."""
