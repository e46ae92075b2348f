"""Scheduled restore tests: drill-mode runs into a sandbox, per policy, filed as restore evidence."""
