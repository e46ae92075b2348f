"""Continuous verification: restore evidence, the decaying readiness score and its history."""
