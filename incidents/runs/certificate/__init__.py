"""Recovery-equivalence certificates: a signed statement of what a run proved, asset by asset."""
